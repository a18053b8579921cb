"""A NUL or other control character in a brand's name, keyword, excluded term, handle or raw query is refused at
start-up, naming the key: the config loaded, and every poll on PostgreSQL then failed with "unsupported Unicode
escape sequence", naming nothing. A raw query may still be written over several lines."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.cli import cli
from monitor.config import Config

REFUSED = "holds a control character (a NUL, a line break, a tab…): remove it"


def _write(tmp_path: Path, brand: str) -> Path:
    config = tmp_path / "mentiondesk.toml"
    config.write_text(f'[[brands]]\n{brand}\n[connectors.sample]\n', encoding="utf-8")
    return config


@pytest.mark.parametrize(("brand", "key"), [
    ('name = "Ac\\u0000me"\nkeywords = ["acme"]', "brands[0].name"),
    ('name = "Acme"\nkeywords = ["ac\\u0000me"]', "brands[0].keywords"),
    ('name = "Acme"\nkeywords = ["acme", "acme\\ncloud"]', "brands[0].keywords"),
    ('name = "Acme"\nkeywords = ["acme"]\nexclude = ["bricks\\u001b"]', "brands[0].exclude"),
    ('name = "Acme"\nhandles = { sample = "acme\\u0000" }', "brands[0].handles"),
    ('name = "Acme"\nqueries = { sample = "acme \\u0000-bricks" }', "brands[0].queries"),
])
def test_a_control_character_is_refused_naming_the_key(tmp_path: Path, brand: str, key: str) -> None:
    result = CliRunner().invoke(cli, ["--config", str(_write(tmp_path, brand)), "status"])
    assert result.exit_code == 2, result.output
    assert re.search(rf"{re.escape(key)}: Value error, .*{re.escape(REFUSED)}", result.output), result.output
    assert "\x00" not in result.output


def test_a_raw_query_written_over_several_lines_loads(tmp_path: Path) -> None:
    query = "(acme OR @acme)\n-bricks\t-is:retweet"
    config = _write(tmp_path, f'name = "Acme"\nqueries = {{ sample = """{query}""" }}')
    assert Config.load(config, env={}).queries_for("sample")[0].raw == query
