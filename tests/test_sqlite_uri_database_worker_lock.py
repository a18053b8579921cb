"""A SQLite database named as a `file:` URI (sqlite:///file:/path/x.db?uri=true) gets its worker lock
beside the database file, wherever the worker starts: a second worker started from another folder is
refused, as with a plain path. Until 2026-12-07 the lock (and the database's folder) was made under a
folder named `file:` in the working directory, so two workers from two folders polled one database."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.config import Config
from monitor.errors import ConfigError
from monitor.storage import Database
from monitor.workers import WorkerConflict, sqlite_worker_lock


def test_workers_started_from_two_folders_share_the_uri_databases_lock(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///file:{tmp_path / 'data' / 'mentiondesk.db'}?uri=true"
    first_folder, second_folder = tmp_path / "first", tmp_path / "second"
    for folder in ("data", "first", "second"):
        (tmp_path / folder).mkdir()

    monkeypatch.chdir(first_folder)
    first = Database.open(url)
    first.upgrade()
    held = sqlite_worker_lock(first)
    assert held is not None
    try:
        monkeypatch.chdir(second_folder)
        second = Database.open(url)
        with pytest.raises(WorkerConflict, match="already polling the SQLite database"):
            sqlite_worker_lock(second)
        second.dispose()
    finally:
        held.close()
        first.dispose()
    assert (tmp_path / "data" / "mentiondesk.db.worker.lock").is_file()
    assert not (first_folder / "file:").exists() and not (second_folder / "file:").exists()


def test_a_uri_database_in_a_missing_folder_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///file:{tmp_path / 'typo' / 'mentiondesk.db'}?uri=true"
    with pytest.raises(ConfigError, match="the database's folder .*typo does not exist"):
        Config.from_dict({"brands": [{"name": "Acme", "keywords": ["acme"]}], "database": {"url": url},
                          "connectors": {"sample": {}}}, env={})
