"""A mention that joined an alert (not the one its key is named for) was alerted a second time when checked again
after the 3-day look-back (ingest re-ranked its post): only the mention naming the old alert's key was found."""

from __future__ import annotations

from datetime import timedelta

from monitor.alerts.engine import AlertEngine
from monitor.alerts.receiver import Receiver
from monitor.storage import Database
from tests.test_alerts import Clock, add_brand, add_mentions, events, settings, target


def test_a_mention_alerted_with_others_is_left_out_when_checked_again_days_later(db: Database) -> None:
    brand, clock = add_brand(db), Clock()
    with Receiver() as receiver:
        with AlertEngine(db, settings(), [target("care", receiver.json_url())], clock) as engine:
            first, joined = add_mentions(db, brand, 2, text="I want a refund")
            engine.on_new_mentions([first, joined])
            assert engine.drain(10)
            clock.advance(days=4)  # past the look-back of "already alerted"
            new = add_mentions(db, brand, text="my account was hacked", created_at=clock() - timedelta(minutes=1))
            assert engine.on_new_mentions([joined, *new]) == 1
            assert engine.drain(10)
        receiver.wait_for(2)
    assert [e.mention_ids for e in events(db)] == [[first, joined], new]
    assert [m.title for m in receiver.received] == ["Urgent: 2 mentions of Acme", "Urgent mention of Acme"]
