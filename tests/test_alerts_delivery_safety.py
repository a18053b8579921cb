"""Alert decisions and deliveries that must not stop, stick or double: real databases, no receivers needed."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.exc import SQLAlchemyError

from monitor.alerts.delivery import DeliveryWorker
from monitor.alerts.engine import AlertEngine
from monitor.storage import Database
from tests.test_alerts import START, Clock, add_brand, add_mentions, events, settings, target

# Nothing listens there: these tests read the outbox, they never start the delivery workers.
NOWHERE = "json://127.0.0.1:9/alerts"


def test_an_sla_warning_window_longer_than_three_days_keeps_every_tick_working(sqlite_db: Database) -> None:
    # The look-back for "already warned" was 3 days: a mention still at risk after that was fresh again,
    # its alert's dedupe key was inserted twice, and that tick and every later one failed for all brands.
    acme, zed = add_brand(sqlite_db), add_brand(sqlite_db, "zed", "Zed")
    first = add_mentions(sqlite_db, acme, needs_response=True, created_at=START - timedelta(days=9))
    s = settings(rules={"sla": {"response_minutes": 14 * 24 * 60, "warn_before_minutes": 6 * 24 * 60},
                        "digest": {"enabled": False}, "volume_spike": {"enabled": False},
                        "negative_spike": {"enabled": False}})
    engine = AlertEngine(sqlite_db, s, [target("care", NOWHERE)])
    assert engine.tick(START) == 1
    later = add_mentions(sqlite_db, zed, needs_response=True, created_at=START - timedelta(days=8))
    assert engine.tick(START + timedelta(days=3, minutes=1)) == 1
    assert engine.tick(START + timedelta(days=3, hours=1)) == 0
    assert sorted(e.mention_ids for e in events(sqlite_db)) == [first, later], "each warned about once"


def test_two_processes_alerting_at_once_alert_every_mention_once(postgres_db: Database,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    # Both read "nothing alerted yet"; the second insert of the same dedupe key failed its whole
    # transaction, and the other urgent mentions in its batch were never alerted.
    brand = add_brand(postgres_db)
    m1, m2, m3 = add_mentions(postgres_db, brand, 3, text="refund now", status="new")
    both_deciding = threading.Barrier(2)
    decide = AlertEngine._queue_items

    def at_the_same_moment(self: AlertEngine, *args: Any, **kwargs: Any) -> int:
        both_deciding.wait(10)
        changed = decide(self, *args, **kwargs)
        time.sleep(0.3)  # hold the transaction open, so the other decides meanwhile
        return changed

    monkeypatch.setattr(AlertEngine, "_queue_items", at_the_same_moment)
    outcomes: dict[str, object] = {}

    def run(name: str, ids: list[int]) -> None:
        try:
            outcomes[name] = AlertEngine(postgres_db, settings(), [target("care", NOWHERE)]).on_new_mentions(ids, START)
        except SQLAlchemyError as exc:
            outcomes[name] = exc

    threads = [threading.Thread(target=run, args=("a", [m1])), threading.Thread(target=run, args=("b", [m1, m2, m3]))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert all(isinstance(changed, int) for changed in outcomes.values()), outcomes
    [event] = events(postgres_db)
    assert sorted(event.mention_ids) == [m1, m2, m3]


class RaisingQuietHours:
    """The quiet-hours check raising, as aware config times made it do (a TypeError at every delivery)."""

    def __call__(self, *_: object) -> bool:
        raise TypeError("can't compare offset-naive and offset-aware times")


def test_an_error_after_a_claim_is_a_failed_attempt_not_an_alert_stuck_sending(sqlite_db: Database) -> None:
    brand = add_brand(sqlite_db)
    s = settings(delivery={"timeout_seconds": 0.5, "max_attempts": 2, "backoff_seconds": 30})
    clock = Clock()
    engine = AlertEngine(sqlite_db, s, [target("care", NOWHERE)], clock)
    engine.on_new_mentions(add_mentions(sqlite_db, brand, text="we were hacked"))
    worker = DeliveryWorker(sqlite_db, s, engine.targets[0], clock, RaisingQuietHours())
    assert worker.deliver_one()
    [event] = events(sqlite_db)
    assert (event.status, event.attempts, event.due_at) == ("pending", 1, START + timedelta(seconds=30))
    assert event.error == "unexpected TypeError while preparing the alert"
    clock.advance(seconds=30)
    assert worker.deliver_one()
    [event] = events(sqlite_db)
    assert (event.status, event.attempts) == ("failed", 2)
    assert not worker.deliver_one(), "nothing left claimed or due"
