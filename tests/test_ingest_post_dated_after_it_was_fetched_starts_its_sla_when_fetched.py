"""A post dated after we fetched it (a platform's clock ahead, a feed's local time labelled +0000) is dated when
fetched, its date as sent kept in the raw payload, so its SLA clock cannot start in the future. Until 2026-12-07
ingest kept dates up to a day ahead: answered at once, such a post took minus five hours (the SLA page's average
and the analytics median went negative), and an urgent one unanswered stayed "on track" for hours, out of the
Breaching SLA view."""
from __future__ import annotations

from datetime import timedelta

from connectors.base import FetchResult
from monitor import sla
from monitor.config import Config
from monitor.ingest import ingest_page, sync_brands
from monitor.models import Mention, utcnow
from monitor.sla import SlaPolicy, SlaState
from monitor.storage import Database
from tests.connector_doubles import mention

CONFIG = Config.from_dict({"brands": [{"name": "Acme", "keywords": ["acme"]}], "connectors": {"sample": {}}}, env={})


def test_the_sla_clock_starts_when_the_post_was_fetched(db: Database) -> None:
    query_id = sync_brands(db, CONFIG.brands, {"sample": CONFIG.queries_for("sample")})[("sample", "acme")]
    ahead = utcnow() + timedelta(hours=5)
    before = utcnow()
    ingest_page(db, connector="sample", query_id=query_id,
                result=FetchResult([mention("sample", 1, created_at=ahead)], next_cursor="2"))
    with db.write() as session:
        stored = session.query(Mention).one()
        assert before <= stored.created_at == stored.fetched_at <= utcnow()
        assert stored.raw["created_at_as_sent"] == ahead.isoformat()
        stored.priority = 80.0  # urgent: a one-hour target
        unanswered = sla.status(SlaPolicy(), stored, stored.fetched_at + timedelta(hours=3))
        stored.first_response_at = stored.fetched_at + timedelta(minutes=10)
        answered = sla.status(SlaPolicy(), stored, stored.fetched_at + timedelta(hours=3))
    assert unanswered.state == SlaState.OVERDUE
    assert (answered.state, answered.remaining) == (SlaState.MET, timedelta(minutes=10))
