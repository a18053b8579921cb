"""Two [[reply_templates]] of one name and language for the same platform, or two [[sla.tiers]] with one min_priority
or one name, are refused naming both: only the first was ever used (or the two tiers were counted as one), and nothing
said so. A variant for some platforms listed before the one for every platform is still fine."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.config import Config
from monitor.errors import ConfigError
from monitor.templates import pick_variant

BASE = '[[brands]]\nname = "Acme"\nkeywords = ["acme"]\n[connectors.sample]\n[connectors.hackernews]\nenabled = false\n'


def _template(name: str, body: str, lang: str | None = None, platforms: list[str] | None = None) -> str:
    toml = f'[[reply_templates]]\nname = "{name}"\nbody = "{body}"\n'
    toml += f'lang = "{lang}"\n' if lang else ""
    return toml + (f"platforms = {platforms}\n".replace("'", '"') if platforms is not None else "")


def _load(tmp_path: Path, toml: str) -> Config:
    path = tmp_path / "mentiondesk.toml"
    path.write_text(BASE + toml, encoding="utf-8")
    return Config.load(path, env={})


@pytest.mark.parametrize(("first", "second", "described"), [
    ((None, None), (None, None), "with no lang for every platform"),
    (("es", None), ("es", None), "with lang 'es' for every platform"),
    ((None, None), (None, ["sample"]), "with no lang for sample"),
    ((None, ["sample", "hackernews"]), (None, ["hackernews", "x"]), "with no lang for hackernews"),
])
def test_two_variants_for_one_language_and_platform_are_refused(tmp_path: Path, first: tuple, second: tuple,
                                                                described: str) -> None:
    toml = _template("Thanks", "Thank you {author}!", *first) + _template("Thanks", "Gracias {author}!", *second)
    with pytest.raises(ConfigError, match=r"mentiondesk\.toml: reply_templates\[0\] and reply_templates\[1\] are both "
                                          rf"template 'Thanks' {described}, where only the first is used"):
        _load(tmp_path, toml)


def test_variants_for_other_languages_or_platforms_load(tmp_path: Path) -> None:
    toml = (_template("Thanks", "Thanks on HN {author}", platforms=["hackernews"])
            + _template("Thanks", "Thank you {author}!")
            + _template("Thanks", "Gracias en HN {author}", "es", ["hackernews"])
            + _template("Thanks", "Gracias {author}!", "es"))
    templates = _load(tmp_path, toml).dashboard.templates
    assert pick_variant(templates, "Thanks", None, "hackernews").body == "Thanks on HN {author}"
    assert pick_variant(templates, "Thanks", None, "sample").body == "Thank you {author}!"
    assert pick_variant(templates, "Thanks", "es", "sample").body == "Gracias {author}!"
    assert pick_variant(templates, "Thanks", "es", "hackernews").body == "Gracias en HN {author}"


def test_two_sla_tiers_with_one_min_priority_are_refused(tmp_path: Path) -> None:
    toml = ('[[sla.tiers]]\nname = "normal"\nmin_priority = 0\ntarget_minutes = 1440\n'
            '[[sla.tiers]]\nname = "fast"\nmin_priority = 0\ntarget_minutes = 30\n')
    with pytest.raises(ConfigError, match=r"sla\.tiers: Value error, tiers\[0\] \(normal\) and tiers\[1\] \(fast\) "
                                          "both have min_priority 0, so tiers\\[1\\] would never be used"):
        _load(tmp_path, toml)


def test_two_sla_tiers_with_one_name_are_refused(tmp_path: Path) -> None:
    toml = ('[[sla.tiers]]\nname = "urgent"\nmin_priority = 70\ntarget_minutes = 60\n'
            '[[sla.tiers]]\nname = "urgent"\nmin_priority = 0\ntarget_minutes = 1440\n')
    with pytest.raises(ConfigError, match=r"sla\.tiers: Value error, tiers\[0\] and tiers\[1\] are both named "
                                          "'urgent'; give each tier its own name"):
        _load(tmp_path, toml)
