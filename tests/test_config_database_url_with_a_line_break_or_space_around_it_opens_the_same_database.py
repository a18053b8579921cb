"""A database URL with a line break or space around it (a Kubernetes secret made from a file ending in a newline, an
env file saved with CRLF, a space inside the TOML quotes) is the URL without it: SQLite opened "mentiondesk.db\\n", a
new, empty database beside the real one, and status, export and poll carried on there. A control character left
inside the URL is refused, naming the setting."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.cli import cli

SAMPLE = '[[brands]]\nname = "Acme"\nkeywords = ["acme"]\n[connectors.sample]\n[sentiment]\nbackend = "none"\n'


def _named_with_a_space(folder: Path) -> list[str]:
    """The files in ``folder`` named with a space or line break: a database opened at the URL as written."""
    return [p.name for p in folder.iterdir() if any(c.isspace() for c in p.name)]


def _status(config: Path, env: dict[str, str]) -> str:
    result = CliRunner().invoke(cli, ["--config", str(config), "status"], env=env)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("after", ["\n", "\r", "\r\n", " "])
def test_the_environments_url_with_a_line_break_or_space_after_it_opens_the_database(tmp_path: Path,
                                                                                      after: str) -> None:
    config = tmp_path / "mentiondesk.toml"
    config.write_text(SAMPLE, encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'mentiondesk.db'}"
    poll = CliRunner().invoke(cli, ["--config", str(config), "poll", "--once"], env={"MENTIONDESK_DATABASE_URL": url})
    assert poll.exit_code == 0, poll.output
    database, counted = _status(config, {"MENTIONDESK_DATABASE_URL": url}).splitlines()[:2]
    assert database.startswith(f"database: {url} (schema ") and not counted.startswith("mentions: 0 ")
    shown = _status(config, {"MENTIONDESK_DATABASE_URL": f"{url}{after}"})
    assert shown.splitlines()[:2] == [database, counted]
    assert _named_with_a_space(tmp_path) == []


def test_the_config_files_url_with_a_space_inside_the_quotes_opens_the_database(tmp_path: Path) -> None:
    config = tmp_path / "mentiondesk.toml"
    config.write_text(f'[database]\nurl = " sqlite:///mentiondesk.db "\n{SAMPLE}', encoding="utf-8")
    _status(config, {})
    assert _named_with_a_space(tmp_path) == []


@pytest.mark.parametrize("setting", ["MENTIONDESK_DATABASE_URL", "database.url"])
@pytest.mark.parametrize("inside", ["\n", "\t", "\x7f"])
def test_a_control_character_inside_the_url_is_refused_naming_the_setting(tmp_path: Path, setting: str,
                                                                          inside: str) -> None:
    config = tmp_path / "mentiondesk.toml"
    url = f"sqlite:///{tmp_path}/mentiondesk{inside}old.db"
    if setting == "database.url":
        escaped = url.replace(inside, "\\u%04x" % ord(inside))  # TOML takes no control character as written
        config.write_text(f'[database]\nurl = "{escaped}"\n{SAMPLE}', encoding="utf-8")
        env = {}
    else:
        config.write_text(SAMPLE, encoding="utf-8")
        env = {"MENTIONDESK_DATABASE_URL": url}
    result = CliRunner().invoke(cli, ["--config", str(config), "status"], env=env)
    assert result.exit_code == 2, result.output
    assert f"{config}: {setting}: holds a control character" in result.output
    assert "old.db" not in result.output  # the URL may hold a password: never shown
    assert list(tmp_path.glob("*.db*")) == []
