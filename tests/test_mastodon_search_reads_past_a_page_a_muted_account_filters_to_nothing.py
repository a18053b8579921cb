"""Mastodon's search drops muted, blocked and limited accounts' statuses from a page after paging, so a muted
account's burst of a page or more of matches comes back as empty pages with more matches below them. A search
walk reads past such pages (same ``max_id``, the next ``offset``) while statuses it read before lie below, at most
``max_pages_per_poll`` empty pages in a row. Until 2026-12-07 an empty page ended the walk: a customer's status
posted just before a muted troll's burst was never read, and the sub-cursor moved past it."""

from __future__ import annotations

import logging

import pytest

from connectors.base import Query
from connectors.emulators import DEMO_SECRETS, RunningEmulators
from connectors.mastodon import MastodonConnector, MastodonSettings
from tests.emulator_fixtures import drain
from tests.more_sources_fixtures import FAST_RETRIES

QUERY = Query(key="orbisto", brand="Orbisto", keywords=("Orbisto",))
PAGE_SIZE = 5


def masto(running: RunningEmulators, **settings: int) -> MastodonConnector:
    return MastodonConnector(MastodonSettings(api_base_url=running.mastodon_url, page_size=PAGE_SIZE, hashtags=[],
                                              notifications=False, **FAST_RETRIES, **settings),
                             dict(DEMO_SECRETS["mastodon"]))


def flood(running: RunningEmulators, statuses: int) -> None:
    """A troll floods the brand's name, and the care team mutes the troll."""
    for n in range(statuses):
        running.mastodon.add_status(f"Orbisto is a scam {n}", username="troll")
    running.mastodon.mute("troll")


def test_a_status_below_a_muted_burst_of_pages_is_read_once(emulators: RunningEmulators) -> None:
    _, cursor, _ = drain(masto(emulators), QUERY, None)
    customer = emulators.mastodon.add_status("Orbisto lost my parcel, order 4411", username="ana")
    flood(emulators, 2 * PAGE_SIZE + 2)  # two pages filtered to nothing, then one with the customer's status
    mentions, cursor, _ = drain(masto(emulators), QUERY, cursor)
    assert [m.external_id for m in mentions] == [customer]
    again, _, _ = drain(masto(emulators), QUERY, cursor)
    assert again == []


def test_a_burst_past_the_page_limit_ends_the_walk_with_a_warning_once(
        emulators: RunningEmulators, caplog: pytest.LogCaptureFixture) -> None:
    _, cursor, _ = drain(masto(emulators, max_pages_per_poll=2), QUERY, None)
    emulators.mastodon.add_status("Orbisto lost my parcel, order 4411", username="ana")
    _, cursor, _ = drain(masto(emulators, max_pages_per_poll=2), QUERY, cursor)
    flood(emulators, 3 * PAGE_SIZE)
    with caplog.at_level(logging.WARNING, logger="mentiondesk.connectors.mastodon"):
        before = emulators.mastodon.requests_served
        mentions, cursor, _ = drain(masto(emulators, max_pages_per_poll=2), QUERY, cursor)
        assert (mentions, emulators.mastodon.requests_served - before) == ([], 2)
        assert [r.getMessage() for r in caplog.records if "search:Orbisto" in r.getMessage()] != []
        caplog.clear()
        before = emulators.mastodon.requests_served
        drain(masto(emulators, max_pages_per_poll=2), QUERY, cursor)  # nothing new: one search, no warning
        assert (emulators.mastodon.requests_served - before, caplog.records) == (1, [])
