"""A relative SQLite path in [database].url is taken from the config file's folder, as the config's other paths are:
commands run from two folders opened two databases. MENTIONDESK_DATABASE_URL's stays relative to the working
directory, and a database found only where the working directory put it is refused rather than replaced by a new one."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy.engine import make_url

from monitor.cli import cli
from monitor.config import Config
from monitor.errors import ConfigError
from monitor.storage import sqlite_file

SAMPLE = '[[brands]]\nname = "Acme"\nkeywords = ["acme"]\n[connectors.sample]\n'


def _folders(tmp_path: Path, url: str) -> tuple[Path, Path]:
    conf, elsewhere = tmp_path / "conf", tmp_path / "elsewhere"
    conf.mkdir()
    elsewhere.mkdir()
    config = conf / "mentiondesk.toml"
    config.write_text(f'[database]\nurl = "{url}"\n{SAMPLE}', encoding="utf-8")
    return config, elsewhere


def test_commands_run_from_two_folders_use_the_one_database_beside_the_config(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config, elsewhere = _folders(tmp_path, "sqlite:///data.db?timeout=5")
    for folder in (config.parent, elsewhere):
        monkeypatch.chdir(folder)
        result = CliRunner().invoke(cli, ["--config", str(config), "db", "upgrade"])
        assert result.exit_code == 0, result.output
        assert f"sqlite:///{config.parent / 'data.db'}?timeout=5 is at schema" in result.output
    assert [p.relative_to(tmp_path) for p in tmp_path.rglob("*.db")] == [Path("conf/data.db")]
    loaded = make_url(Config.load(config, env={}).database_url)
    assert sqlite_file(loaded) == config.parent / "data.db" and loaded.query == {"timeout": "5"}


def test_a_relative_path_in_a_folder_a_file_uri_and_a_tilde_path_are_from_the_config_files_folder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config, elsewhere = _folders(tmp_path, "sqlite:///file:db%20files/x.db?uri=true")
    (config.parent / "db files").mkdir()
    monkeypatch.chdir(elsewhere)
    assert sqlite_file(make_url(Config.load(config, env={}).database_url)) == config.parent / "db files" / "x.db"
    config.write_text(f'[database]\nurl = "sqlite:///db files/x.db"\n{SAMPLE}', encoding="utf-8")
    assert sqlite_file(make_url(Config.load(config, env={}).database_url)) == config.parent / "db files" / "x.db"
    monkeypatch.setenv("HOME", str(tmp_path / "home-folder"))  # ~ is the home folder, as in the config's other paths
    (tmp_path / "home-folder").mkdir()
    config.write_text(f'[database]\nurl = "sqlite:///~/x.db"\n{SAMPLE}', encoding="utf-8")
    assert sqlite_file(make_url(Config.load(config, env={}).database_url)) == tmp_path / "home-folder" / "x.db"


def test_the_environments_url_stays_relative_to_the_working_directory(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    config, elsewhere = _folders(tmp_path, "sqlite:///data.db")
    monkeypatch.chdir(elsewhere)
    assert Config.load(config, env={"MENTIONDESK_DATABASE_URL": "sqlite:///env.db"}).database_url == "sqlite:///env.db"


def test_a_database_only_where_the_working_directory_put_it_is_refused_not_replaced(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config, elsewhere = _folders(tmp_path, "sqlite:///data.db")
    monkeypatch.chdir(elsewhere)
    (elsewhere / "data.db").write_bytes(b"")
    with pytest.raises(ConfigError) as refused:
        Config.load(config, env={})
    assert str(refused.value) == (f"{config}: database.url: the relative path data.db is taken from the config file's "
                                  f"folder, and {config.parent / 'data.db'} does not exist; the database at "
                                  f"{elsewhere / 'data.db'} was opened from the working directory before: write the "
                                  "full path of the one to use")
    assert not (config.parent / "data.db").exists()
