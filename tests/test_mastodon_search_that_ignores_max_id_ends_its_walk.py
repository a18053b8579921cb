"""A server whose search ignores ``max_id`` (Akkoma pages its search by offset only) answers a walk's next page
with the same statuses: the walk ends there instead of asking for that page on every poll, and the poll goes on
to the query's other sources. Until 2026-12-07 a full page from such a server kept its walk going for good."""

from __future__ import annotations

from typing import Any
from unittest import mock

from connectors.base import Query
from connectors.emulators import DEMO_SECRETS, RunningEmulators
from connectors.mastodon import MastodonConnector, MastodonSettings
from tests.emulator_fixtures import drain
from tests.more_sources_fixtures import FAST_RETRIES

QUERY = Query(key="orbisto", brand="Orbisto", keywords=("Orbisto",))


def test_a_search_that_ignores_max_id_ends_its_walk(emulators: RunningEmulators) -> None:
    connector = MastodonConnector(MastodonSettings(api_base_url=emulators.mastodon_url, page_size=5, hashtags=[],
                                                   notifications=False, **FAST_RETRIES), dict(DEMO_SECRETS["mastodon"]))
    search = connector.api.search_v2

    def without_max_id(text: str, **params: Any) -> Any:
        return search(text, **{**params, "max_id": None})

    _, cursor, _ = drain(connector, QUERY, None)
    new = [emulators.mastodon.add_status(f"Orbisto order {n} never arrived", username=f"c{n}") for n in range(12)]
    with mock.patch.object(connector.api, "search_v2", side_effect=without_max_id):
        mentions, cursor, pages = drain(connector, QUERY, cursor)
    assert len(pages) == 2 and {m.external_id for m in mentions} == set(new[-5:])
