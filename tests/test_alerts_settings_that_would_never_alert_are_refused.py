"""Alert settings that can only be a mistake are refused at start-up, naming the key: quiet hours that
start and end at the same time (never quiet), a target that would receive nothing, and an SLA warning
that comes no earlier than the deadline (every mention warned about as it arrives)."""

from __future__ import annotations

from typing import Any

import pytest

from monitor.config import Config
from monitor.errors import ConfigError


def _config(**alerts: Any) -> Config:
    return Config.from_dict({"brands": [{"name": "Acme", "keywords": ["acme"]}, {"name": "Beta", "keywords": ["beta"]}],
                             "connectors": {"sample": {}}, "alerts": alerts},
                            env={"MENTIONDESK_ALERT_TEAM_URL": "json://127.0.0.1:9/hook"})


def test_quiet_hours_starting_when_they_end_are_refused() -> None:
    with pytest.raises(ConfigError, match=r"alerts\.quiet_hours: .*same time, so quiet hours would never begin"):
        _config(quiet_hours={"start": "22:00", "end": "22:00"})
    assert _config(quiet_hours={"start": "22:00", "end": "07:00"}).alerts.quiet_hours is not None


@pytest.mark.parametrize(("target", "message"), [
    ({"rules": []}, r"rules is empty, so target team would receive nothing"),
    ({"brands": []}, r"brands is empty, so target team would receive nothing"),
    ({"rules": ["digest", "sla"], "min_level": "critical"},
     r"min_level critical is above every rule target team takes \(digest: info, sla: warning\)"),
])
def test_a_target_that_would_receive_nothing_is_refused(target: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=r"alerts\.targets\[0\]: .*" + message):
        _config(targets=[{"name": "team", **target}])


def test_a_target_that_receives_some_rules_is_accepted() -> None:
    config = _config(targets=[{"name": "team", "rules": ["digest", "urgent"], "min_level": "critical"}])
    assert [t.name for t in config.alert_targets] == ["team"]


@pytest.mark.parametrize(("alerts", "where"), [
    ({"rules": {"sla": {"response_minutes": 30, "warn_before_minutes": 30}}}, r"rules\.sla"),
    # The brand sets only the warning; the deadline is the section's.
    ({"rules": {"sla": {"response_minutes": 120}}, "brands": {"beta": {"sla": {"warn_before_minutes": 150}}}},
     r"brands\.beta\.sla"),
    # The brand sets only a shorter deadline; the warning is the section's default 15 minutes.
    ({"brands": {"acme": {"sla": {"response_minutes": 10}}}}, r"brands\.acme\.sla"),
])
def test_an_sla_warning_no_earlier_than_the_deadline_is_refused(alerts: dict[str, Any], where: str) -> None:
    with pytest.raises(ConfigError, match=where + r": warn_before_minutes \(\d+\) must be less than response_minutes"):
        _config(**alerts)


def test_a_brand_warning_earlier_than_its_own_deadline_is_accepted() -> None:
    config = _config(rules={"sla": {"response_minutes": 30, "warn_before_minutes": 10}},
                     brands={"beta": {"sla": {"response_minutes": 240, "warn_before_minutes": 60}}})
    assert config.alerts.rules_for("beta").sla.warn_before_minutes == 60
