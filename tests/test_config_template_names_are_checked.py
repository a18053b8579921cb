"""A reply template's platforms and the check-in template's name are checked at start-up: a typo there loaded
silently, and the template was never offered or every check-in box started empty."""

from __future__ import annotations

from typing import Any

import pytest

from monitor.config import Config
from monitor.errors import ConfigError

BASE: dict[str, Any] = {"brands": [{"name": "Acme", "keywords": ["acme"]}],
                        "connectors": {"sample": {}, "hackernews": {"enabled": False}}}


def _load(**tables: Any) -> Config:
    return Config.from_dict({**BASE, **tables}, env={}, source="test.toml")


def _template(*platforms: str, name: str = "Sorry") -> dict[str, Any]:
    return {"name": name, "body": "Hi {author}, sorry.", "platforms": list(platforms)}


@pytest.mark.parametrize("typo", ["Sample", "twitter"])
def test_a_template_for_a_platform_that_is_no_connector_is_refused(typo: str) -> None:
    with pytest.raises(ConfigError, match=rf"^test\.toml: reply_templates\[1\]\.platforms: unknown connector "
                                          rf"'{typo}' \(known: .*sample"):
        _load(reply_templates=[_template("sample"), _template("sample", typo)])


def test_a_template_for_a_disabled_or_unconfigured_connector_loads() -> None:
    # A disabled connector may be enabled again, and a shared template list may serve other set-ups.
    config = _load(reply_templates=[_template("hackernews", "reddit"), _template("sample", name="Thanks")])
    assert [t.platforms for t in config.dashboard.templates] == [("hackernews", "reddit"), ("sample",)]


def test_a_check_in_template_that_names_no_template_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"^test\.toml: check_ins\.template: 'Check in' is not a reply template "
                                          r"name; the templates are Check-in, Sorry$"):
        _load(check_ins={"template": "Check in"},
              reply_templates=[_template(), {"name": "Check-in", "body": "Hi {author}, all good now?"}])
    with pytest.raises(ConfigError, match="the templates are Order follow-up, Sorry \\+ DM, Thanks$"):
        _load(check_ins={"template": "Check-in"})  # no templates configured: only the defaults exist


def test_a_check_in_template_may_name_a_configured_or_default_template_or_be_left_out() -> None:
    configured = _load(check_ins={"template": "Check-in"},
                       reply_templates=[{"name": "Check-in", "body": "Hi {author}, all good now?"}])
    assert configured.check_ins.template == "Check-in"
    assert _load(check_ins={"template": "Thanks"}).check_ins.template == "Thanks"  # a default template
    # Left out, it is "Check-in", and without such a template the check-in box starts empty, as before.
    assert _load(check_ins={"after_days": 2}).check_ins.template == "Check-in"
