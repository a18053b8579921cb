"""A database URL whose port is not a number stops every command in one line naming the key (exit code 2),
never echoing the URL's password: SQLAlchemy raised a ValueError, which escaped as a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.cli import cli
from monitor.errors import ConfigError
from monitor.storage import Database

SAMPLE_ONLY = '[[brands]]\nname = "Acme"\nkeywords = ["acme"]\n[connectors.sample]\n'
PORT_NOT_A_NUMBER = "the port is not a number"


@pytest.mark.parametrize("port", ["54e2", "5432x"])
def test_the_environments_database_url_with_a_port_not_a_number_is_refused_naming_it(
        port: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MENTIONDESK_HOME", str(tmp_path / "home"))
    config = tmp_path / "mentiondesk.toml"
    config.write_text(SAMPLE_ONLY)
    url = f"postgresql+psycopg://mentiondesk:S3cretPw@db.example.com:{port}/mentiondesk"
    result = CliRunner().invoke(cli, ["--config", str(config), "status"], env={"MENTIONDESK_DATABASE_URL": url})
    assert result.exit_code == 2, result.output
    assert f"Error: {config}: MENTIONDESK_DATABASE_URL: {PORT_NOT_A_NUMBER}" in result.output
    assert "S3cretPw" not in result.output and "Traceback" not in result.output


def test_the_config_files_database_url_with_a_port_not_a_number_is_refused_naming_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MENTIONDESK_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("MENTIONDESK_DATABASE_URL", raising=False)
    config = tmp_path / "mentiondesk.toml"
    config.write_text('[database]\nurl = "postgresql+psycopg://md:S3cretPw@db.example.com:5432x/md"\n' + SAMPLE_ONLY)
    result = CliRunner().invoke(cli, ["--config", str(config), "status"])
    assert result.exit_code == 2, result.output
    assert f"Error: {config}: database.url: {PORT_NOT_A_NUMBER}" in result.output
    assert "S3cretPw" not in result.output


def test_an_unparsable_url_from_the_environment_is_refused_under_its_own_name(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Database.open named database.url for a URL set in MENTIONDESK_DATABASE_URL.
    monkeypatch.setenv("MENTIONDESK_HOME", str(tmp_path / "home"))
    config = tmp_path / "mentiondesk.toml"
    config.write_text(SAMPLE_ONLY)
    result = CliRunner().invoke(cli, ["--config", str(config), "status"], env={"MENTIONDESK_DATABASE_URL": "not a url"})
    assert result.exit_code == 2, result.output
    assert f"Error: {config}: MENTIONDESK_DATABASE_URL: not a valid SQLAlchemy URL" in result.output


def test_opening_a_database_url_with_a_port_not_a_number_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=f"database.url: {PORT_NOT_A_NUMBER}") as info:
        Database.open("postgresql+psycopg://md:S3cretPw@db.example.com:54e2/md")
    assert "S3cretPw" not in str(info.value)
