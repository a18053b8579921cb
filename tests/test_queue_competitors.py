"""Competitor brands (``competitor = true``) are tracked for share of voice only: their posts stay out
of the triage queue's views and the SLA figures unless someone picks the brand in the Brand filter."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from monitor import queue, triage
from monitor.models import Brand
from monitor.sla import SlaPolicy, breaching_cutoffs
from monitor.storage import Database
from tests.principals import LEAD
from tests.test_dashboard_fixtures import NOW, add_brand, add_mention, dashboard_db, signed_in_app

OVERDUE = NOW - timedelta(hours=30)  # unanswered past every default SLA target


def _ids(db: Database, filters: queue.QueueFilters) -> list[int]:
    with db.read() as session:
        return [m.id for m in queue.fetch_page(session, filters).items]


def test_the_views_leave_competitor_posts_out_unless_the_brand_filter_picks_them(db: Database) -> None:
    acme, rival = add_brand(db, "Acme"), add_brand(db, "Rival")
    ours = add_mention(db, brand_id=acme, intent="complaint", created_at=OVERDUE)
    theirs = add_mention(db, brand_id=rival, intent="complaint", created_at=OVERDUE - timedelta(minutes=1))
    unbranded = add_mention(db, brand_id=None, intent="complaint", created_at=OVERDUE - timedelta(minutes=2))
    with db.write() as session:
        session.execute(update(Brand).where(Brand.id == rival).values(competitor=True))  # as sync_brands stores it
    with db.read() as session:
        competitors = queue.competitor_brand_ids(session)
    assert competitors == (rival,)
    views = {v.key: v.filters for v in queue.saved_views("ana", breaching_cutoffs(SlaPolicy(), NOW), competitors)}
    for key in ("all-open", "unassigned", "breaching-sla"):
        assert _ids(db, views[key]) == [ours, unbranded], key
    triage.assign(db, [ours, theirs], "ana", LEAD)
    assert _ids(db, views["my-open-complaints"]) == [ours]
    # Picked by name, as the queue page's Brand filter does, the competitor's posts are there.
    assert _ids(db, replace(views["all-open"], brand_ids=(rival,))) == [theirs]
    assert _ids(db, replace(views["all-open"], brand_ids=(acme, rival))) == [ours, theirs]


def test_the_queue_and_sla_pages_leave_competitor_posts_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("streamlit", reason="the dashboard needs streamlit: pip install 'mentiondesk[dashboard]'")
    db = dashboard_db(tmp_path, monkeypatch, '[[brands]]\nname = "Rival"\nkeywords = ["rival"]\ncompetitor = true\n')
    at = signed_in_app(db)  # the dashboard stores the config's brands
    with db.read() as session:
        brand_ids = {key: brand_id for key, brand_id in session.execute(select(Brand.key, Brand.id))}
    ours = add_mention(db, brand_id=brand_ids["acme"], created_at=OVERDUE, priority=50.0)
    theirs = [add_mention(db, brand_id=brand_ids["rival"], created_at=OVERDUE, priority=80.0) for _ in range(3)]
    at.run()

    def shown() -> list[str]:
        return [b.key for b in at.button if b.key.startswith("open-")]

    assert shown() == [f"open-{ours}"]
    at.multiselect(key="f-brands").select("Rival").run()
    assert sorted(shown()) == sorted(f"open-{m}" for m in theirs)
    at.switch_page("pages/sla.py").run()
    assert not at.exception, at.exception
    assert [m.value for m in at.metric if m.label == "At risk or overdue now"] == ["1"]
    db.dispose()
