"""An alert target's name is stored with each of its alerts (100 characters on PostgreSQL): a longer one is a config
error naming it. Until 2026-12-07 SQLite stored it and PostgreSQL refused every alert to that target."""

from __future__ import annotations

import pytest

from monitor.config import Config
from monitor.errors import ConfigError


def _config(name: str) -> Config:
    return Config.from_dict({"brands": [{"name": "Acme", "keywords": ["acme"]}], "connectors": {"sample": {}},
                             "alerts": {"targets": [{"name": name}]}},
                            env={f"MENTIONDESK_ALERT_{name.upper().replace('-', '_')}_URL": "json://127.0.0.1:9/a"})


def test_a_target_name_over_100_characters_is_refused() -> None:
    assert [t.name for t in _config("c" * 100).alert_targets] == ["c" * 100]
    with pytest.raises(ConfigError, match=r"alerts\.targets\[0\]\.name: String should have at most 100 characters"):
        _config("c" * 101)
