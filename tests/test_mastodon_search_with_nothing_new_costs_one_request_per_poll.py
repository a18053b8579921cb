"""Mastodon allows 300 requests per 5 minutes per account, and each keyword is a search source read on every poll.
A poll with nothing new, or with a few new statuses, asks search once per keyword while its look-back window
fits a page. Until 2026-12-07 the look-back made every first page hold statuses, and only an empty page ended a
walk: each keyword cost two searches per poll, doubling its share of the limit. A page shortened by a muted
account still leads on while unread matches may lie below it (see
test_mastodon_search_reads_past_a_page_shortened_by_muted_accounts.py)."""

from __future__ import annotations

from unittest import mock

from connectors.base import Query
from connectors.emulators import DEMO_SECRETS, RunningEmulators
from connectors.mastodon import MastodonConnector, MastodonSettings
from tests.emulator_fixtures import drain
from tests.more_sources_fixtures import FAST_RETRIES

QUERY = Query(key="orbisto", brand="Orbisto", keywords=("Orbisto", "Orbisto Cloud"))


def poll(running: RunningEmulators, cursor: str | None) -> tuple[set[str], str | None, int]:
    """One poll of the query's search sources: the status ids it returns, its cursor, and its searches."""
    connector = MastodonConnector(MastodonSettings(api_base_url=running.mastodon_url, hashtags=[], notifications=False,
                                                   **FAST_RETRIES), dict(DEMO_SECRETS["mastodon"]))
    with mock.patch.object(connector.api, "search_v2", wraps=connector.api.search_v2) as search:
        mentions, cursor, _ = drain(connector, QUERY, cursor)
    return {m.external_id for m in mentions}, cursor, search.call_count


def test_a_poll_asks_search_once_per_keyword(emulators: RunningEmulators) -> None:
    _, cursor, _ = poll(emulators, None)
    first = emulators.mastodon.add_status("Orbisto Cloud is slow today", username="lea")
    found, cursor, searches = poll(emulators, cursor)
    assert (found, searches) == ({first}, 2)
    for _ in range(2):  # nothing new: the look-back window is read again, once per keyword
        found, cursor, searches = poll(emulators, cursor)
        assert (found, searches) == (set(), 2)
    emulators.mastodon.mute("spammer")
    emulators.mastodon.add_status("Orbisto Cloud FREE CRYPTO", username="spammer")
    second = emulators.mastodon.add_status("Orbisto Cloud lost my files", username="ben")
    found, cursor, searches = poll(emulators, cursor)
    assert (found, searches) == ({second}, 2)

