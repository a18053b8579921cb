"""`timezone = "America"` (a folder of the time zone database, not a zone) stopped start-up with a raw
"Is a directory" error instead of a config error naming the key."""

from __future__ import annotations

from typing import Any

import pytest

from monitor.config import Config
from monitor.errors import ConfigError


def _config(**sections: Any) -> Config:
    return Config.from_dict({"brands": [{"name": "Acme", "keywords": ["acme"]}], "connectors": {"sample": {}},
                             **sections}, env={})


@pytest.mark.parametrize("zone", ["America", "Europe"])
def test_an_alerts_timezone_naming_a_folder_is_refused_naming_the_key(zone: str) -> None:
    with pytest.raises(ConfigError, match=r"alerts\.timezone: .*unknown time zone"):
        _config(alerts={"timezone": zone})
    assert _config(alerts={"timezone": "America/New_York"}).alerts.timezone == "America/New_York"


def test_a_business_hours_timezone_naming_a_folder_is_refused_naming_the_key() -> None:
    with pytest.raises(ConfigError, match=r"sla\.business_hours\.timezone: unknown time zone 'Asia'"):
        _config(sla={"business_hours": {"timezone": "Asia"}})
