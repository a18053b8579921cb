"""A target taken out of the config (or renamed) while its alert waited to retry: `status` reported it FAILING for
good, and put back weeks later it sent the stale alert."""

from __future__ import annotations

from monitor.alerts.engine import AlertEngine
from monitor.alerts.receiver import Receiver
from monitor.alerts.records import alert_summary
from monitor.storage import Database
from tests.test_alerts import Clock, add_brand, add_mentions, events, settings, target

NO_DIGEST = {"digest": {"enabled": False}}


def _retrying_alert(db: Database, clock: Clock, name: str) -> None:
    with Receiver(fail_first=1) as receiver:
        with AlertEngine(db, settings(rules=NO_DIGEST), [target(name, receiver.json_url())], clock) as engine:
            engine.on_new_mentions(add_mentions(db, add_brand(db), text="I want a refund"))
            assert engine.drain(10)
    assert [(e.status, e.error) for e in events(db)] == [("pending", "HTTP 500 from the target")]


def test_only_configured_targets_are_reported_failing(sqlite_db: Database) -> None:
    clock = Clock()
    _retrying_alert(sqlite_db, clock, "old-slack")
    assert alert_summary(sqlite_db, clock(), targets=["old-slack"]).failing_targets == ["old-slack"]
    clock.advance(days=30)  # renamed to "care" meanwhile
    assert alert_summary(sqlite_db, clock(), targets=["care"]).failing_targets == []


def test_an_alert_due_weeks_ago_is_not_sent_when_its_target_is_back(sqlite_db: Database) -> None:
    clock = Clock()
    _retrying_alert(sqlite_db, clock, "care")
    clock.advance(days=30)
    with Receiver() as receiver:
        with AlertEngine(sqlite_db, settings(rules=NO_DIGEST), [target("care", receiver.json_url())], clock) as engine:
            assert engine.drain(10)
        assert receiver.received == []
    [stale] = events(sqlite_db)
    assert (stale.status, stale.reason) == ("suppressed", "not sent: due at 2026-03-02 12:00 UTC, over 3 days ago")


def test_an_alert_a_day_late_still_goes_out(sqlite_db: Database) -> None:
    clock = Clock()
    _retrying_alert(sqlite_db, clock, "care")
    clock.advance(days=1)  # every process down for a day: its retries are durable
    with Receiver() as receiver:
        with AlertEngine(sqlite_db, settings(rules=NO_DIGEST), [target("care", receiver.json_url())], clock) as engine:
            assert engine.drain(10)
        receiver.wait_for(1)
    assert [(e.status, e.sent_at) for e in events(sqlite_db)] == [("sent", clock())]
