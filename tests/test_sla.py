"""SLA due times in business hours, at-risk/overdue states, and the team's response figures."""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone

import pytest

from monitor import sla
from monitor.errors import ConfigError
from monitor.models import Mention
from monitor.sla import BusinessHours, SlaPolicy, SlaState
from monitor.storage import Database
from tests.test_dashboard_fixtures import add_mention

UTC = timezone.utc
# Monday 2026-11-16 … Friday 2026-11-20; Berlin is UTC+1 in November.
BERLIN = BusinessHours(timezone="Europe/Berlin", start=time(9), end=time(17))


def test_business_time_skips_nights_and_weekends() -> None:
    friday_4pm_local = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
    due = sla.add_business_time(BERLIN, friday_4pm_local, timedelta(hours=2))
    assert due == datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # Monday 10:00 Berlin
    assert sla.business_elapsed(BERLIN, friday_4pm_local, due) == timedelta(hours=2)
    assert sla.subtract_business_time(BERLIN, due, timedelta(hours=2)) == friday_4pm_local
    saturday = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
    assert sla.add_business_time(BERLIN, saturday, timedelta(minutes=30)) == datetime(2026, 11, 23, 8, 30, tzinfo=UTC)
    assert sla.add_business_time(None, saturday, timedelta(minutes=30)) == saturday + timedelta(minutes=30)


def test_states_follow_the_tier_target() -> None:
    policy = SlaPolicy()
    now = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)

    def state(priority: float | None, age: timedelta, answered_after: timedelta | None = None) -> SlaState:
        created = now - age
        m = Mention(priority=priority, created_at=created,
                    first_response_at=None if answered_after is None else created + answered_after)
        return sla.status(policy, m, now).state

    assert state(90, timedelta(minutes=10)) is SlaState.ON_TRACK
    assert state(90, timedelta(minutes=50)) is SlaState.AT_RISK
    assert state(90, timedelta(minutes=61)) is SlaState.OVERDUE
    assert state(None, timedelta(hours=5)) is SlaState.ON_TRACK  # unscored: the lowest tier (24 h)
    assert state(90, timedelta(hours=3), answered_after=timedelta(minutes=20)) is SlaState.MET
    assert state(90, timedelta(hours=3), answered_after=timedelta(hours=2)) is SlaState.MISSED


def test_bad_policies_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="time zone"):
        BusinessHours(timezone="Mars/Olympus")
    with pytest.raises(ConfigError, match="start must be before end"):
        BusinessHours(start=time(17), end=time(9))
    with pytest.raises(ConfigError, match="at least one tier"):
        SlaPolicy(tiers=())


def test_business_hours_with_a_utc_offset_are_refused_naming_the_key(tmp_path) -> None:
    # "08:30+01:00" was accepted, then compared with naive times: a raw TypeError at start-up.
    from monitor.config import Config

    refused = r"sla\.business_hours\.start: give a local time; the zone is set by `timezone`"
    with pytest.raises(ConfigError, match=refused):
        BusinessHours(start=time(8, 30, tzinfo=timezone(timedelta(hours=1))))
    config = tmp_path / "mentiondesk.toml"
    config.write_text('[[brands]]\nname = "Acme"\nkeywords = ["acme"]\n[connectors.sample]\n'
                      '[sla.business_hours]\nend = "17:00Z"\n')
    with pytest.raises(ConfigError, match=r"sla\.business_hours\.end: give a local time"):
        Config.load(config, env={})


def test_team_first_response_average_and_p90(db: Database) -> None:
    start = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
    for minutes in range(1, 11):  # 1 … 10 minutes
        add_mention(db, created_at=start, first_response_at=start + timedelta(minutes=minutes))
    add_mention(db, created_at=start)  # unanswered: not counted
    with db.read() as session:
        stats = sla.team_first_response(session, SlaPolicy(), start, start + timedelta(days=1))
    assert stats.responded == 10
    assert stats.average == timedelta(minutes=5.5)
    assert stats.p90 == timedelta(minutes=9)
    assert sla.response_stats([]) == sla.ResponseStats(0, None, None)
