"""A mention alerted days ago and checked again (ingest re-ranked its post) beside a new urgent mention: the new
one is alerted, and the old one is not alerted twice. The new alert took the old one's key (named for its lowest
id), the insert collided, and the new mention was never alerted."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from monitor.alerts.engine import AlertEngine
from monitor.alerts.models import AlertEvent
from monitor.alerts.receiver import Receiver
from monitor.storage import Database
from tests.test_alerts import START, Clock, add_brand, add_mentions, settings, target


def test_a_new_urgent_mention_checked_with_an_old_alerted_one_is_alerted(db: Database) -> None:
    brand = add_brand(db)
    clock = Clock(START)
    with Receiver() as receiver:
        with AlertEngine(db, settings(), [target("care", receiver.json_url())], clock) as engine:
            old = add_mentions(db, brand, text="I want a refund", created_at=START - timedelta(minutes=5))
            engine.on_new_mentions(old)
            engine.drain(10)
            clock.advance(days=4)  # past the look-back of "already alerted"
            new = add_mentions(db, brand, text="my account was hacked, my lawyer is next",
                               created_at=clock() - timedelta(minutes=1))
            assert engine.on_new_mentions(old + new) == 1
            engine.drain(10)
        receiver.wait_for(2)
    with db.read() as session:
        alerted = [event.mention_ids for event in session.scalars(select(AlertEvent).order_by(AlertEvent.id))]
    assert alerted == [old, new]
    assert ["hacked" in message.body for message in receiver.received] == [False, True]
