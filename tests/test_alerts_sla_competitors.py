"""SLA warnings leave competitor brands out, as the queue's Breaching SLA view and the SLA page do."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from monitor.alerts.engine import AlertEngine
from monitor.models import Brand
from monitor.storage import Database
from tests.test_alerts import START, add_brand, add_mentions, events, settings, target
from tests.test_alerts_delivery_safety import NOWHERE

ONLY_SLA = {"digest": {"enabled": False}, "volume_spike": {"enabled": False}, "negative_spike": {"enabled": False},
            "sla": {"response_minutes": 60, "warn_before_minutes": 15}}


def test_no_sla_warning_for_a_competitors_unanswered_posts(db: Database) -> None:
    # The team never answers a competitor's posts, yet each one due soon was a "Response due soon" alert.
    acme, rival = add_brand(db), add_brand(db, "rival", "Rival")
    with db.write() as session:
        session.execute(update(Brand).where(Brand.id == rival).values(competitor=True))  # as sync_brands stores it
    due_soon = {"needs_response": True, "created_at": START - timedelta(minutes=50)}
    ours = add_mentions(db, acme, **due_soon)
    add_mentions(db, rival, 2, **due_soon)
    engine = AlertEngine(db, settings(rules=ONLY_SLA), [target("care", NOWHERE)])
    assert engine.tick(START) == 1
    assert [(e.rule, e.brand_id, e.mention_ids) for e in events(db)] == [("sla", acme, ours)]
