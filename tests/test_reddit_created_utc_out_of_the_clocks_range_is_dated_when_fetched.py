"""Reddit: an item whose ``created_utc`` the clock cannot turn into a date (nanoseconds since 1970, say,
which Python's ``fromtimestamp`` refuses with OSError rather than ValueError) is dated when fetched, and its
source goes on. Until 2026-12-07 its page failed as an unexpected error on every poll: neither it nor anything
newer in that source was ever stored."""

from __future__ import annotations

import time
from datetime import datetime, timezone

from connectors.emulators import RunningEmulators
from monitor.storage import Database
from tests.more_sources_fixtures import poll
from tests.test_odd_payloads_do_not_stop_sources import fetched_lately, stored
from tests.test_odd_payloads_mastodon_reddit import odd_reddit_item, reddit_config


def test_an_item_dated_in_nanoseconds_is_stored_and_its_source_goes_on(db: Database,
                                                                       emulators: RunningEmulators) -> None:
    config = reddit_config(db, emulators)
    report = poll(db, config)
    assert report.ok, report.error
    odd = emulators.reddit.add_submission("Orbisto charged me twice", author="nano_clock")
    later = emulators.reddit.add_submission("Orbisto refund never arrived", author="happy_later")
    sent = time.time_ns()
    odd_reddit_item(emulators, odd, lambda data: data.update(created_utc=sent, created=sent))
    before = datetime.now(timezone.utc)

    report = poll(db, config)

    assert report.ok, report.error
    rows = stored(db, "reddit")
    assert {odd, later} <= rows.keys()
    assert fetched_lately(rows[odd], before) and rows[odd].raw["created_at_as_sent"] == sent
