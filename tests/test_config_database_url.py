"""Where the database and config are found, and what is shown of the database's URL."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy.engine import make_url

from monitor.cli import cli
from monitor.config import Config
from monitor.redact import redact
from monitor.storage import Database

QUERY_PASSWORD = "Qu3ryPassw0rd"


def test_a_password_in_the_urls_query_is_masked_where_the_url_is_shown_and_in_logs() -> None:
    # libpq takes ?password= as well as user:password@; only the latter was masked.
    url = f"postgresql+psycopg://app:Us3rPassw0rd@db.example.com/mentions?password={QUERY_PASSWORD}&sslmode=require"
    db = Database.open(url)
    assert db.display_url == "postgresql+psycopg://app:***@db.example.com/mentions?password=***&sslmode=require"
    db.dispose()
    Config.from_dict({"brands": [{"name": "Acme", "keywords": ["acme"]}], "connectors": {"sample": {}}},
                     env={"MENTIONDESK_DATABASE_URL": url})
    assert redact(f"connecting with password {QUERY_PASSWORD}") == "connecting with password ***"


def test_db_upgrade_and_status_do_not_print_a_password_given_in_the_query(postgres_url: str, tmp_path: Path) -> None:
    config = tmp_path / "mentiondesk.toml"
    assert CliRunner().invoke(cli, ["--config", str(config), "init"]).exit_code == 0
    url = make_url(postgres_url).update_query_dict({"password": QUERY_PASSWORD}).render_as_string(hide_password=False)
    for command in (["db", "upgrade"], ["status"]):
        result = CliRunner().invoke(cli, ["--config", str(config), *command], env={"MENTIONDESK_DATABASE_URL": url})
        assert result.exit_code == 0, result.output
        assert "password=***" in result.output and QUERY_PASSWORD not in result.output


@pytest.mark.parametrize("folder", ["notes?v2", "100%41"])
def test_the_default_database_is_in_the_data_directory_whatever_it_is_called(tmp_path: Path, folder: str,
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    # The URL was formatted from the path: "?" began its query (the database became "…/notes")
    # and "%41" was read as "A".
    home = tmp_path / folder
    monkeypatch.setenv("MENTIONDESK_HOME", str(home))
    assert CliRunner().invoke(cli, ["init"]).exit_code == 0
    result = CliRunner().invoke(cli, ["status"])
    assert result.exit_code == 0, result.output
    assert (home / "mentiondesk.db").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == [folder]


@pytest.mark.parametrize("how", ["environment", "option"])
def test_a_config_path_starting_with_a_tilde_is_in_the_home_folder(tmp_path: Path, how: str,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    # As written in a systemd unit or .env file, or quoted on the command line: no shell expands it,
    # and `init` wrote ./~/mentiondesk.toml.
    user_home = tmp_path / "user"
    user_home.mkdir()
    monkeypatch.setenv("HOME", str(user_home))
    monkeypatch.chdir(tmp_path)
    if how == "environment":
        monkeypatch.setenv("MENTIONDESK_CONFIG", "~/mentiondesk.toml")
        args = ["init"]
    else:
        args = ["--config", "~/mentiondesk.toml", "init"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert (user_home / "mentiondesk.toml").is_file()
    assert not (tmp_path / "~").exists()
