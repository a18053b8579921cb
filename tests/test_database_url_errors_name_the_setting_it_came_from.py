"""A database URL mentiondesk cannot use (another backend, a driver not installed) is reported naming the
setting it came from: MENTIONDESK_DATABASE_URL where the environment set it (it blamed `database.url`, which
the config file may not even have), `database.url` where the config file did."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.cli import cli

BACKEND = "mysql://app@db.example.com/mentions"
DRIVER = "postgresql+nosuchdriver://app@db.example.com/mentions"


def _config(tmp_path: Path, url: str | None = None) -> Path:
    config = tmp_path / "mentiondesk.toml"
    database = f'[database]\nurl = "{url}"\n' if url else ""
    config.write_text(f'{database}[[brands]]\nname = "Acme"\nkeywords = ["acme"]\n[sentiment]\nbackend = "none"\n'
                      '[connectors.sample]\n')
    return config


@pytest.mark.parametrize("url, says", [(BACKEND, "mentiondesk runs on SQLite or PostgreSQL, not 'mysql'"),
                                       (DRIVER, "no driver for 'postgresql+nosuchdriver'")], ids=["backend", "driver"])
@pytest.mark.parametrize("command", [["status"], ["db", "upgrade"]], ids=["status", "db-upgrade"])
def test_the_environments_url_is_named_as_such(tmp_path: Path, url: str, says: str, command: list[str]) -> None:
    result = CliRunner().invoke(cli, ["--config", str(_config(tmp_path)), *command],
                                env={"MENTIONDESK_DATABASE_URL": url})
    assert result.exit_code == 2
    assert result.output.startswith(f"Error: MENTIONDESK_DATABASE_URL: {says}"), result.output
    assert "database.url" not in result.output


@pytest.mark.parametrize("url, says", [(BACKEND, "mentiondesk runs on SQLite or PostgreSQL, not 'mysql'"),
                                       (DRIVER, "no driver for 'postgresql+nosuchdriver'")], ids=["backend", "driver"])
def test_the_config_files_url_is_named_as_such(tmp_path: Path, url: str, says: str) -> None:
    result = CliRunner().invoke(cli, ["--config", str(_config(tmp_path, url)), "status"])
    assert result.exit_code == 2
    assert result.output.startswith(f"Error: database.url: {says}"), result.output
