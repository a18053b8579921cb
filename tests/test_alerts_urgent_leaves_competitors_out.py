"""Urgent alerts leave competitor brands out, as SLA warnings, incidents and incident alerts do: a rival's customer
writing "refund" or "scam" is not ours to answer and must not page our on-call. A held urgent alert whose brand was
made a competitor while it waited is not sent."""

from __future__ import annotations

from sqlalchemy import update

from monitor.alerts.engine import AlertEngine
from monitor.alerts.receiver import Receiver
from monitor.models import Brand
from monitor.storage import Database
from tests.test_alerts import Clock, add_brand, add_mentions, events, settings, target
from tests.test_alerts_delivery_safety import NOWHERE

NOT_OURS = "not sent: its mentions moved to another brand, or their brand was made a competitor, while it waited"


def _make_competitor(db: Database, brand: int) -> None:
    with db.write() as session:  # the config's `competitor = true`, as sync_brands stores it
        session.execute(update(Brand).where(Brand.id == brand).values(competitor=True))


def test_no_urgent_alert_for_a_competitors_post(db: Database) -> None:
    acme, rival = add_brand(db), add_brand(db, "rival", "Rival")
    _make_competitor(db, rival)
    ours = add_mentions(db, acme, text="I want a refund")
    theirs = add_mentions(db, rival, text="@rival this is a scam, I want a refund", author_followers=80_000,
                          sentiment_label="negative", sentiment_score=0.9)
    on_call = target("on-call", NOWHERE, min_level="critical", ignore_quiet_hours=True)
    AlertEngine(db, settings(), [on_call]).on_new_mentions([*ours, *theirs])
    assert [(e.rule, e.brand_id, e.mention_ids) for e in events(db)] == [("urgent", acme, ours)]


def test_a_held_urgent_alert_about_a_brand_made_a_competitor_meanwhile_is_not_sent(sqlite_db: Database) -> None:
    brand, clock = add_brand(sqlite_db), Clock()
    with Receiver() as receiver:
        with AlertEngine(sqlite_db, settings(), [target("care", receiver.json_url())], clock) as engine:
            engine.on_new_mentions(add_mentions(sqlite_db, brand, text="I was hacked"))
            assert engine.drain(10)
            clock.advance(minutes=2)
            engine.on_new_mentions(add_mentions(sqlite_db, brand, text="refund please"))  # held for the cooldown
            _make_competitor(sqlite_db, brand)
            clock.advance(minutes=9)
            assert engine.drain(10)
        assert len(receiver.received) == 1
    held = events(sqlite_db)[1]
    assert (held.status, held.reason) == ("suppressed", NOT_OURS)
