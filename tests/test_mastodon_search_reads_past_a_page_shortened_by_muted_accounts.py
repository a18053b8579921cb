"""Mastodon's search drops muted, blocked and limited accounts' statuses from a page after paging, so a page can
hold fewer than ``limit`` with more matches below it. Until 2026-12-07 such a short page ended the search walk and
its sub-cursor moved to the newest id: the matches below it were never read."""

from __future__ import annotations

from connectors.base import Query
from connectors.emulators import DEMO_SECRETS, RunningEmulators
from connectors.mastodon import MastodonConnector, MastodonSettings
from tests.emulator_fixtures import drain
from tests.more_sources_fixtures import FAST_RETRIES

QUERY = Query(key="orbisto", brand="Orbisto", keywords=("Orbisto",))


def masto(running: RunningEmulators) -> MastodonConnector:
    return MastodonConnector(MastodonSettings(api_base_url=running.mastodon_url, page_size=5, hashtags=[],
                                              notifications=False, **FAST_RETRIES), dict(DEMO_SECRETS["mastodon"]))


def test_every_match_below_a_short_search_page_is_read_once(emulators: RunningEmulators) -> None:
    emulators.mastodon.mute("spammer")
    _, cursor, _ = drain(masto(emulators), QUERY, None)
    customers = [emulators.mastodon.add_status(f"Orbisto order {n} never arrived", username=f"cust{n}")
                 for n in range(8)]
    emulators.mastodon.add_status("Orbisto FREE CRYPTO", username="spammer")  # newest, dropped from its page
    mentions, cursor, _ = drain(masto(emulators), QUERY, cursor)
    later, _, _ = drain(masto(emulators), QUERY, cursor)
    read = [m.external_id for m in mentions + later]
    assert sorted(read) == sorted(customers)
