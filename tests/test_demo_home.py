"""`mentiondesk demo --home DIR` never overwrites or writes into a config, database or alert log it did not write."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy.engine import make_url

from monitor.cli import cli
from monitor.config import Config
from monitor.demo import DEMO_CONFIG_MARKER, DemoHomeInUse, check_demo_home, write_demo_config

USER_CONFIG = '[database]\nurl = "sqlite:///prod.db"\n\n[[brands]]\nname = "Acme"\nkeywords = ["acme"]\n'


def _demo(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["demo", "--once", *args])
    return result.exit_code, result.output


def test_a_users_config_in_the_demo_folder_is_refused_and_kept(tmp_path: Path) -> None:
    folder = tmp_path / "project"  # as `--home .` in a project folder
    folder.mkdir()
    config = folder / "mentiondesk.toml"
    config.write_text(USER_CONFIG, encoding="utf-8")
    code, output = _demo("--home", str(folder))
    assert code == 1, output
    assert f"{config} was not written by `mentiondesk demo`" in output and "give --home another folder" in output
    assert "Traceback" not in output
    assert config.read_text(encoding="utf-8") == USER_CONFIG
    assert sorted(p.name for p in folder.iterdir()) == ["mentiondesk.toml"]  # nothing started, nothing written


def test_the_default_demo_folder_is_checked_too(tmp_path: Path) -> None:
    home = tmp_path / "home" / "demo"  # MENTIONDESK_HOME is tmp_path/home (tests/conftest.py)
    home.mkdir(parents=True)
    (home / "mentiondesk.toml").write_text(USER_CONFIG, encoding="utf-8")
    code, output = _demo()
    assert code == 1 and "was not written by `mentiondesk demo`" in output, output
    assert (home / "mentiondesk.toml").read_text(encoding="utf-8") == USER_CONFIG


@pytest.mark.parametrize("name", ["demo.db", "alerts.jsonl"])
def test_a_database_or_alert_log_without_the_demos_config_is_refused_and_kept(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    if name == "demo.db":
        with sqlite3.connect(path) as conn:
            conn.execute("CREATE TABLE customers (name TEXT)")
            conn.execute("INSERT INTO customers VALUES ('real data')")
        conn.close()
    else:
        path.write_text('{"title": "a real alert"}\n', encoding="utf-8")
    before = path.read_bytes()
    code, output = _demo("--home", str(tmp_path))
    assert code == 1, output
    assert f"{path} is there without a config written by `mentiondesk demo`" in output
    assert path.read_bytes() == before
    assert not (tmp_path / "mentiondesk.toml").exists()


def test_a_folder_the_demo_wrote_or_a_new_one_is_accepted(tmp_path: Path) -> None:
    check_demo_home(tmp_path / "new")  # not there yet
    check_demo_home(tmp_path)  # empty
    (tmp_path / "other-notes.txt").write_text("not the demo's business", encoding="utf-8")
    check_demo_home(tmp_path)  # files the demo never writes do not matter
    (tmp_path / "mentiondesk.toml").write_text(f"{DEMO_CONFIG_MARKER}; points at the local emulators.\n",
                                               encoding="utf-8")
    (tmp_path / "demo.db").write_bytes(b"")
    (tmp_path / "alerts.jsonl").write_text("", encoding="utf-8")
    check_demo_home(tmp_path)  # the demo's own config: it may rewrite it and reuse its database
    (tmp_path / "mentiondesk.toml").write_text("# my config\n" + USER_CONFIG, encoding="utf-8")
    with pytest.raises(DemoHomeInUse, match="was not written by"):
        check_demo_home(tmp_path)


@pytest.mark.parametrize("folder", ["demo?v2", "100%41"])
def test_the_demo_config_names_its_database_in_the_demo_folder_whatever_it_is_called(tmp_path: Path,
                                                                                    folder: str) -> None:
    # The URL was formatted from the path: "?" began its query and "%41" was read as "A".
    home = tmp_path / folder
    home.mkdir()
    settings = {"brand": {"name": "Orbisto", "keywords": ["orbisto"]}, "connectors": {"sample": {}}}
    config = Config.load(write_demo_config(home, settings, dashboard_port=8501),
                         env={"MENTIONDESK_ALERT_DEMO_CHAT_URL": "json://127.0.0.1:9/alerts"})
    assert make_url(config.database_url).database == str(home / "demo.db")


@pytest.mark.parametrize("name", ["MENTIONDESK_DATABASE_URL", "MENTIONDESK_SECRETS_FILE"])
def test_a_database_or_secrets_file_named_in_the_environment_stops_the_demo(tmp_path: Path, name: str,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    # A shell set up for production: the variable would win over the demo's config, and its made-up mentions
    # would go into that database.
    production = tmp_path / "production.db"
    monkeypatch.setenv(name, f"sqlite:///{production}" if name.endswith("URL") else str(tmp_path / "prod.env"))
    code, output = _demo("--home", str(tmp_path / "demo"))
    assert code == 1, output
    assert f"{name} is set" in output and "unset it to run the demo" in output
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # nothing started, nothing written
