"""The sentiment chart marks each spike alert once: a spike suppressed as a repeat within its cooldown is not one."""

from __future__ import annotations

from datetime import datetime, timezone

from monitor import analytics
from monitor.alerts.models import AlertEvent, AlertStatus
from monitor.storage import Database
from tests.test_dashboard_fixtures import add_brand


def at(hour: int) -> datetime:
    return datetime(2026, 11, 18, hour, tzinfo=timezone.utc)


def test_a_spike_held_back_by_its_cooldown_is_not_drawn(db: Database) -> None:
    acme = add_brand(db, "Acme")
    decided = [  # (hour, target, status): what the engine records for one spike going on for two hours, and a later one
        (10, "team", AlertStatus.SENT), (10, "night-desk", AlertStatus.SUPPRESSED),  # the night desk's quiet hours
        (11, "team", AlertStatus.SUPPRESSED), (11, "night-desk", AlertStatus.SUPPRESSED),  # cooldown: the same spike
        (15, "team", AlertStatus.FAILED), (16, "team", AlertStatus.PENDING),
    ]
    with db.write() as session:
        for hour, target, state in decided:
            session.add(AlertEvent(rule="volume_spike", brand_id=acme, target=target, status=state.value,
                                   dedupe_key=f"volume_spike:{acme}:2026-11-18T{hour}", created_at=at(hour)))
    with db.read() as session:
        marks = analytics.spike_marks(session, analytics.scope(at(0), at(23), [acme]))
    assert [m.at for m in marks] == [at(10), at(15), at(16)]
