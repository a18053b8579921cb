"""The SQLite database holds customers' posts, notes, the audit log and password hashes: the data directory and the
database's folder that mentiondesk makes are its owner's alone (0700), and so are the database, its write-ahead log
and shared-memory file (0600), whatever the umask lets others read. What the operator set up keeps its modes."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from monitor.paths import data_dir, default_database_url
from monitor.storage import Database


@pytest.fixture(autouse=True)
def _usual_umask() -> Iterator[None]:
    """The usual umask, 022, under which files and folders were made readable by every user."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def _mode(path: Path) -> str:
    return oct(stat.S_IMODE(path.stat().st_mode))


@contextmanager
def _upgraded_with_its_log_open(url: str) -> Iterator[None]:
    """The database upgraded and a connection open, so that its -wal and -shm files are there."""
    db = Database.open(url)
    db.upgrade()
    with db.engine.connect():
        yield
    db.dispose()


def test_the_default_database_and_data_directory_are_private() -> None:
    home = data_dir(create=False)
    assert not home.exists()
    with _upgraded_with_its_log_open(default_database_url()):
        assert _mode(home) == "0o700"
        files = {path.name: _mode(path) for path in home.iterdir()}
        assert files == {"mentiondesk.db": "0o600", "mentiondesk.db-wal": "0o600", "mentiondesk.db-shm": "0o600"}


def test_a_database_elsewhere_gets_a_private_folder_and_files(tmp_path: Path) -> None:
    folder = tmp_path / "made" / "for" / "it"
    with _upgraded_with_its_log_open(f"sqlite:///{folder / 'x.db'}"):
        assert _mode(folder) == "0o700"
        assert {path.name: _mode(path) for path in folder.iterdir()} == {"x.db": "0o600", "x.db-wal": "0o600",
                                                                          "x.db-shm": "0o600"}


def test_a_folder_and_database_the_operator_made_keep_their_modes(tmp_path: Path) -> None:
    # e.g. /var/lib/mentiondesk made 0750 for an admin group, and a database restored as 0640 for it.
    folder = tmp_path / "mentiondesk"
    folder.mkdir(mode=0o750)
    database = folder / "mentiondesk.db"
    database.touch(mode=0o640)
    with _upgraded_with_its_log_open(f"sqlite:///{database}"):
        assert _mode(folder) == "0o750"
        assert {path.name: _mode(path) for path in folder.iterdir()} == {"mentiondesk.db": "0o640",
                                                                          "mentiondesk.db-wal": "0o640",
                                                                          "mentiondesk.db-shm": "0o640"}


def test_init_as_the_first_command_makes_the_data_directory_private_and_an_etc_folder_readable(
        tmp_path: Path) -> None:
    from click.testing import CliRunner

    from monitor.cli import cli

    home = data_dir(create=False)
    assert CliRunner().invoke(cli, ["init"]).exit_code == 0
    assert _mode(home) == "0o700" and (home / "mentiondesk.toml").exists()
    # A config folder such as /etc/mentiondesk is read by the service user: made as the umask says.
    etc = tmp_path / "etc" / "mentiondesk"
    assert CliRunner().invoke(cli, ["init", str(etc / "mentiondesk.toml")]).exit_code == 0
    assert _mode(etc) == "0o755"
