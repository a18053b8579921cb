"""Analytics decides met, missed and overdue to the microsecond, as the queue and monitor.sla.status do,
on SQLite as on PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from monitor import analytics
from monitor.models import Mention
from monitor.sla import SlaPolicy, SlaState, status
from monitor.storage import Database
from tests.test_dashboard_fixtures import add_brand, add_mention

POLICY = SlaPolicy()
URGENT = 80.0  # a one-hour target
HOUR = timedelta(hours=1)
US = timedelta(microseconds=1)
# A fraction of a second that rounds up into the next second at millisecond precision.
POSTED = datetime(2026, 11, 18, 10, 0, 0, 999_600, tzinfo=timezone.utc)


def _outcome(db: Database, first_response_at: datetime | None, now: datetime) -> tuple[SlaState | None, SlaState]:
    """(the analytics outcome, if it counts one; monitor.sla.status's) of one urgent mention."""
    brand = add_brand(db, "Acme")
    mention_id = add_mention(db, brand_id=brand, created_at=POSTED, first_response_at=first_response_at,
                             priority=URGENT, status="resolved" if first_response_at else "open")
    with db.read() as session:
        filters = analytics.scope(POSTED - timedelta(days=1), POSTED + timedelta(days=1), [brand])
        report = analytics.response_report(session, POLICY, filters, now)
        expected = status(POLICY, session.get(Mention, mention_id), now).state
    a = report.attainment
    found = {SlaState.MET: a.met, SlaState.MISSED: a.missed, SlaState.OVERDUE: a.overdue}
    counted = [state for state, n in found.items() if n]
    return (counted[0] if counted else None), expected


@pytest.mark.parametrize("late", [400 * US, US, timedelta(milliseconds=500)], ids=["400 µs", "1 µs", "500 ms"])
def test_a_reply_past_the_due_time_missed(db: Database, late: timedelta) -> None:
    answered = POSTED + HOUR + late
    assert _outcome(db, answered, POSTED + timedelta(days=1)) == (SlaState.MISSED, SlaState.MISSED)
    with db.read() as session:
        report = analytics.response_report(session, POLICY, analytics.scope(POSTED - HOUR, POSTED + HOUR), answered)
    assert report.median == HOUR + late


def test_a_reply_at_the_due_time_met(db: Database) -> None:
    assert _outcome(db, POSTED + HOUR, POSTED + timedelta(days=1)) == (SlaState.MET, SlaState.MET)


def test_unanswered_is_overdue_from_the_due_microsecond(db: Database) -> None:
    assert _outcome(db, None, POSTED + HOUR) == (SlaState.OVERDUE, SlaState.OVERDUE)


def test_unanswered_a_microsecond_before_due_is_not_counted(db: Database) -> None:
    assert _outcome(db, None, POSTED + HOUR - US) == (None, SlaState.AT_RISK)
