"""A keyword or excluded term that shows nothing is refused, as the README says: a lone Hangul filler (U+3164,
U+FFA0, U+115F, U+1160) is a letter by its Unicode category, but keyword matching drops it with the other characters
that show nothing, so it loaded and never matched. A brand name is stripped, and one of nothing but spaces is
refused: it loaded as a blank brand keyed "brand"."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.cli import cli
from monitor.config import Config


def _write(tmp_path: Path, brand: str) -> Path:
    config = tmp_path / "mentiondesk.toml"
    config.write_text(f'[[brands]]\n{brand}\n[connectors.sample]\n', encoding="utf-8")
    return config


@pytest.mark.parametrize("filler", ["\u3164", "\uffa0", "\u115f", "\u1160", "\u3164\u200b"])
@pytest.mark.parametrize("key", ["keywords", "exclude"])
def test_a_term_of_hangul_fillers_is_refused(tmp_path: Path, filler: str, key: str) -> None:
    brand = f'name = "Acme"\nkeywords = ["acme"]\n{key} = ["{filler}"]' if key == "exclude" else \
        f'name = "Acme"\nkeywords = ["acme", "{filler}"]'
    result = CliRunner().invoke(cli, ["--config", str(_write(tmp_path, brand)), "status"])
    assert result.exit_code == 2, result.output
    expected = f"brands[0].{key}: Value error, {filler!r} holds no letter, digit or symbol to search for"
    assert expected in result.output


def test_a_term_with_a_hangul_filler_beside_a_letter_loads(tmp_path: Path) -> None:
    config = _write(tmp_path, 'name = "Acme"\nkeywords = ["\u3164acme"]')
    assert Config.load(config, env={}).brands[0].keywords == ["\u3164acme"]


@pytest.mark.parametrize("blank", ["   ", "\u3000", "\t"])
def test_a_brand_name_of_nothing_but_spaces_is_refused(tmp_path: Path, blank: str) -> None:
    result = CliRunner().invoke(cli, ["--config", str(_write(tmp_path, f'name = "{blank}"\nkeywords = ["acme"]')),
                                      "status"])
    assert result.exit_code == 2, result.output
    assert re.search(r"brands\[0\]\.name: .*at least 1 character", result.output), result.output


def test_a_brand_name_is_stripped(tmp_path: Path) -> None:
    brand = Config.load(_write(tmp_path, 'name = "  Acme Cloud "\nkeywords = ["acme"]'), env={}).brands[0]
    assert (brand.name, brand.key) == ("Acme Cloud", "acme-cloud")
