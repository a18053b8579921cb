"""SLA by agent shows one row per agent, whichever Unicode form an older assignment was stored in."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from monitor import analytics
from monitor.queue import QueueFilters, count
from monitor.sla import BusinessHours, SlaPolicy
from monitor.storage import Database
from tests.test_dashboard_fixtures import add_brand, add_mention

NOW = datetime(2026, 12, 10, 12, tzinfo=timezone.utc)


@pytest.mark.parametrize("policy", [SlaPolicy(), SlaPolicy(business_hours=BusinessHours())],
                         ids=["around the clock", "business hours"])
def test_an_agent_assigned_in_both_forms_is_one_row(db: Database, policy: SlaPolicy) -> None:
    acme = add_brand(db, "Acme")
    # Since 2026-12-07 assignees are stored in NFC; before, as typed: "Jose" and a combining acute accent.
    for n, assignee in enumerate(("Jose\u0301", "Jose\u0301", "Jos\u00e9")):
        posted = NOW - timedelta(days=2, hours=n)
        add_mention(db, brand_id=acme, created_at=posted, first_response_at=posted + timedelta(minutes=30),
                    status="resolved", priority=80.0, assignee=assignee)
    with db.read() as session:
        in_queue, _ = count(session, QueueFilters(statuses=(), assignee="Jos\u00e9"))
        report = analytics.response_report(session, policy, analytics.scope(NOW - timedelta(days=7), NOW, [acme]), NOW)
    assert in_queue == 3
    assert [(a.key, a.met) for a in report.by_agent] == [("Jos\u00e9", 3)]
