"""A second `mentiondesk demo` on the folder of a running one is refused and changes none of the running demo's files.
Until 2026-12-07 it was refused (the running demo holds the worker lock) only after it had rewritten the running demo's
config and secrets file, which then named its own emulators and alert receiver, gone with it, and upgraded its
database."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from monitor.cli import cli
from monitor.demo import write_demo_config
from monitor.storage import Database
from monitor.workers import sqlite_worker_lock

SETTINGS = {"brand": {"name": "Orbisto", "keywords": ["orbisto"]}, "connectors": {"sample": {}}}


def _files(home: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in home.iterdir()}


def test_a_second_demo_on_a_running_demos_folder_changes_none_of_its_files(tmp_path: Path) -> None:
    # The running demo: its folder as the demo writes it, and the worker lock it holds while it runs.
    home = tmp_path / "demo"
    home.mkdir()
    write_demo_config(home, SETTINGS, dashboard_port=8501,
                      demo_secrets={"MENTIONDESK_ALERT_DEMO_CHAT_URL": "json://127.0.0.1:9/the-running-demo"})
    db = Database.open(f"sqlite:///{home / 'demo.db'}")
    db.upgrade()
    db.dispose()
    lock = sqlite_worker_lock(db)
    assert lock is not None  # SQLite's
    try:
        before = _files(home)
        result = CliRunner().invoke(cli, ["demo", "--once", "--home", str(home)])
        assert result.exit_code == 1, result.output
        assert "another mentiondesk worker" in result.output and "is already polling" in result.output
        assert _files(home) == before
    finally:
        lock.close()
