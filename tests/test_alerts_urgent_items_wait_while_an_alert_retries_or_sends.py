"""Urgent items decided while the previous alert waited to retry, or was being sent, each went out as a message of
their own at once: during a chat outage every new urgent mention was queued apart, and the channel got a burst when
it came back. They join a retrying alert, and wait out the cooldown after one being sent (never joining it: its
message may be built already, and a mention added then would never be alerted)."""

from __future__ import annotations

from datetime import timedelta

from monitor.alerts.engine import AlertEngine
from monitor.alerts.receiver import Receiver
from monitor.storage import Database
from tests.test_alerts import Clock, add_brand, add_mentions, events, settings, target

COOLDOWN = {"urgent": {"cooldown_minutes": 10}}


def test_urgent_items_join_an_alert_waiting_to_retry_and_go_as_one_message(db: Database) -> None:
    brand, clock = add_brand(db), Clock()
    with Receiver(fail_first=1) as receiver:
        with AlertEngine(db, settings(rules=COOLDOWN), [target("care", receiver.json_url())], clock) as engine:
            first = add_mentions(db, brand, text="I was hacked")
            engine.on_new_mentions(first)
            assert engine.drain(10)
            assert [(e.status, e.attempts) for e in events(db)] == [("pending", 1)]  # the target answered 500
            later = []
            for i in range(3):
                clock.advance(seconds=5)
                later += add_mentions(db, brand, text=f"refund please {i}")
                engine.on_new_mentions(later[-1:])
                assert engine.drain(10)
            clock.advance(seconds=30)  # the retry is due
            assert engine.drain(10)
        receiver.wait_for(1)
    assert [(e.status, e.mention_ids) for e in events(db)] == [("sent", first + later)]
    assert [m.title for m in receiver.received] == ["Urgent: 4 mentions of Acme"]


def test_an_urgent_item_decided_while_an_alert_is_being_sent_waits_for_the_cooldown(db: Database) -> None:
    brand, clock = add_brand(db), Clock()
    engine = AlertEngine(db, settings(rules=COOLDOWN), [target("care", "json://127.0.0.1:9/never")], clock)
    first = add_mentions(db, brand, text="I was hacked")
    engine.on_new_mentions(first)
    worker = engine.workers[0]  # not started: the claim below stands for a send under way
    claimed = worker._claim(clock())
    assert claimed is not None
    clock.advance(seconds=1)
    later = add_mentions(db, brand, text="refund now")
    assert engine.on_new_mentions(later) == 1
    sending, held = events(db)
    assert (sending.status, sending.mention_ids) == ("sending", first)  # its message may be built: not joined
    assert (held.status, held.mention_ids) == ("pending", later)
    assert held.due_at == sending.claimed_at + timedelta(minutes=10)


def test_an_urgent_item_after_an_alert_that_failed_for_good_waits_for_the_cooldown(db: Database) -> None:
    # A failed try may have got through (a timeout after the chat service took it): it counts like a send.
    brand, clock = add_brand(db), Clock()
    alerts = settings(rules=COOLDOWN, delivery={"timeout_seconds": 0.5, "max_attempts": 1})
    with Receiver(fail_first=1) as receiver:
        with AlertEngine(db, alerts, [target("care", receiver.json_url())], clock) as engine:
            engine.on_new_mentions(add_mentions(db, brand, text="I was hacked"))
            assert engine.drain(10)
            clock.advance(minutes=2)
            later = add_mentions(db, brand, text="refund now")
            engine.on_new_mentions(later)
            assert engine.drain(10)
    failed, held = events(db)
    assert failed.status == "failed"
    assert (held.status, held.mention_ids) == ("pending", later)
    assert held.due_at == failed.claimed_at + timedelta(minutes=10)
