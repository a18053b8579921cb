"""A Hacker News hit dated hours ahead of our clock (a broken or hostile answer) is read but plays no part in the
walk, so the comments posted after it are read (it may be read again: the store keeps it once). Until 2026-12-07 the walk believed times up to a day ahead: its
`since` moved to the odd hit's time and every mention posted before that time was never read."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from connectors.emulators import RunningEmulators
from tests.emulator_fixtures import drain
from tests.test_hackernews_connector import QUERY, hn


def test_comments_after_a_hit_six_hours_ahead_are_read(emulators: RunningEmulators) -> None:
    connector = hn(emulators, page_size=20, first_run_pages=50)
    cursor = drain(connector, QUERY, None)[2][-1].next_cursor
    odd = emulators.hackernews.add_comment("Orbisto is fine", created_at=datetime.now(timezone.utc) + timedelta(hours=6))
    mentions, cursor, _ = drain(connector, QUERY, cursor)
    assert [m.external_id for m in mentions] == [odd]
    later = [emulators.hackernews.add_comment(f"Orbisto double-charged me, order {n}") for n in range(3)]
    read = {m.external_id for m in drain(connector, QUERY, cursor)[0]}
    assert set(later) <= read <= {*later, odd}  # the odd hit may come again (the store keeps it once)
