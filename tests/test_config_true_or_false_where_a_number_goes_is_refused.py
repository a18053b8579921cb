"""TOML's true and false where a setting takes a number are refused, naming the key: pydantic read them as 1 and 0, so
`daily_read_cap = true` stopped polling after one read a day, and `min_priority = false` (TOML has no null) made every
classified mention urgent. `min_priority = false` now switches priority-based urgency off."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from monitor.alerts.rules import urgent_reason
from monitor.config import Config
from monitor.errors import ConfigError

BRAND = '[[brands]]\nname = "Acme"\nkeywords = ["acme"]\n'


def _load(tmp_path: Path, toml: str) -> Config:
    path = tmp_path / "mentiondesk.toml"
    path.write_text(BRAND + toml, encoding="utf-8")
    return Config.load(path, env={})


@pytest.mark.parametrize(("toml", "key"), [
    ("[connectors.sample]\ndaily_read_cap = true\n", "connectors.sample.daily_read_cap"),
    ("[connectors.sample]\npoll_interval_seconds = true\n", "connectors.sample.poll_interval_seconds"),
    ("[connectors.sample]\nseed = false\n", "connectors.sample.seed"),
    ("[connectors.sample]\n[alerts.rules.digest]\ntop_items = true\n", "alerts.rules.digest.top_items"),
    ("[connectors.sample]\n[alerts.rules.sla]\nmin_priority = false\n", "alerts.rules.sla.min_priority"),
    ("[connectors.sample]\n[sla.business_hours]\nweekdays = [true, 2]\n", "sla.business_hours.weekdays"),
    ("[connectors.sample]\n[sla]\ntiers = [{ name = \"all\", min_priority = false, target_minutes = 60 }]\n",
     r"sla.tiers\[0\].min_priority"),
    ("[connectors.sample]\n[retention]\nraw_payload_days = true\n", "retention.raw_payload_days"),
])
def test_true_or_false_for_a_number_is_refused_naming_the_key(tmp_path: Path, toml: str, key: str) -> None:
    with pytest.raises(ConfigError, match=rf"\n  {key}: Value error, true and false are not numbers: write a number"):
        _load(tmp_path, toml)


def test_whole_numbers_for_fractional_settings_and_true_for_switches_still_load(tmp_path: Path) -> None:
    config = _load(tmp_path, "[connectors.sample]\nenabled = true\npoll_interval_seconds = 1\ndaily_read_cap = 500\n"
                             "[alerts.rules.urgent]\nmin_priority = 95\n")
    settings = config.connectors["sample"].settings
    assert (settings.enabled, settings.poll_interval_seconds, settings.daily_read_cap) == (True, 1.0, 500)
    assert config.alerts.rules.urgent.min_priority == 95.0


def _post(priority: float) -> SimpleNamespace:
    return SimpleNamespace(text="Nice weather, using Acme today", human_sentiment_label=None,
                           sentiment_label="positive", sentiment_score=0.9, author_followers=3, priority=priority)


def test_min_priority_false_switches_priority_based_urgency_off(tmp_path: Path) -> None:
    config = _load(tmp_path, "[connectors.sample]\n[alerts.rules.urgent]\nmin_priority = false\n")
    rule = config.alerts.rules.urgent
    assert rule.min_priority is None
    assert urgent_reason(_post(4.2), rule) is None
    assert urgent_reason(_post(99.0), rule) is None


def test_min_priority_false_for_one_brand_leaves_the_others_priority(tmp_path: Path) -> None:
    config = _load(tmp_path, "[connectors.sample]\n[alerts.brands.acme.urgent]\nmin_priority = false\n")
    assert config.alerts.rules_for("acme").urgent.min_priority is None
    assert config.alerts.rules.urgent.min_priority == 90.0


def test_min_priority_true_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"alerts\.rules\.urgent\.min_priority: Value error, true is not a priority: "
                                          r"write a number from 0 to 100, or false for none"):
        _load(tmp_path, "[connectors.sample]\n[alerts.rules.urgent]\nmin_priority = true\n")
