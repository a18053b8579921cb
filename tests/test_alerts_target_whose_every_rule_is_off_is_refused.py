"""A target none of whose rules is switched on, for any brand it takes, would receive nothing: a typo that looks like a
quiet week, refused at start-up naming the target, as one whose `rules` is empty or whose `min_level` is above
every rule it takes. Incident alerts are switched on in `[incidents]`, so a target taking them is accepted."""

from __future__ import annotations

from typing import Any

import pytest

from monitor.config import Config
from monitor.errors import ConfigError

OFF = {"enabled": False}


def _config(**alerts: Any) -> Config:
    return Config.from_dict({"brands": [{"name": "Acme", "keywords": ["acme"]}, {"name": "Beta", "keywords": ["beta"]}],
                             "connectors": {"sample": {}}, "alerts": alerts},
                            env={"MENTIONDESK_ALERT_TEAM_URL": "json://127.0.0.1:9/hook"})


@pytest.mark.parametrize(("alerts", "switched_off"), [
    # The on-call pager takes only critical alerts (urgent), and urgent is off.
    ({"targets": [{"name": "team", "min_level": "critical"}], "rules": {"urgent": OFF}}, "urgent"),
    ({"targets": [{"name": "team", "rules": ["digest"]}], "rules": {"digest": OFF}}, "digest"),
    # Urgent is on for Beta only, and the target takes Acme only.
    ({"targets": [{"name": "team", "rules": ["urgent", "sla"], "brands": ["acme"]}],
      "rules": {"urgent": OFF, "sla": OFF}, "brands": {"beta": {"urgent": {"enabled": True}}}}, "urgent, sla"),
], ids=["pager-urgent-off", "digest-only-digest-off", "on-only-for-a-brand-it-does-not-take"])
def test_a_target_whose_every_rule_is_switched_off_is_refused(alerts: dict[str, Any], switched_off: str) -> None:
    with pytest.raises(ConfigError, match=rf"alerts: .*targets\[0\]: every rule target team takes \({switched_off}\) "
                                          r"is switched off for its brands, so it would receive nothing"):
        _config(**alerts)


@pytest.mark.parametrize("alerts", [
    {"targets": [{"name": "team", "min_level": "critical"}], "rules": {"urgent": OFF},
     "brands": {"acme": {"urgent": {"enabled": True}}}},
    {"targets": [{"name": "team", "rules": ["urgent", "incident"]}], "rules": {"urgent": OFF}},
    {"targets": [{"name": "team"}], "rules": {name: OFF for name in ("urgent", "negative_spike", "volume_spike", "sla",
                                                                       "digest")}},
], ids=["on-for-one-brand", "takes-incidents", "every-rule-incidents-included"])
def test_a_target_with_a_rule_switched_on_for_one_of_its_brands_is_accepted(alerts: dict[str, Any]) -> None:
    assert [t.name for t in _config(**alerts).alert_targets] == ["team"]
