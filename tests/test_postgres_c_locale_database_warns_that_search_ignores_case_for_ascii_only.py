"""On a PostgreSQL database whose LC_CTYPE is C, ILIKE and lower() fold a-z only, so search cannot ignore case in
every script as the README promises: the operator is told, once as the database is opened, and in `status`."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.cli import cli
from monitor.config import Config
from monitor.status import collect_status
from monitor.storage import Database
from tests.conftest import POSTGRES_ENV, POSTGRES_SKIP
from tests.scratch_postgres import scratch_database


@contextmanager
def _scratch_database(encoding: str) -> Iterator[str]:
    """A new database on the test server in ``encoding`` with LC_CTYPE 'C', dropped afterwards."""
    base = os.environ.get(POSTGRES_ENV)
    if not base:
        pytest.skip(POSTGRES_SKIP)
    with scratch_database(base, f"ENCODING '{encoding}' LC_COLLATE 'C' LC_CTYPE 'C'", "t_c_locale") as url:
        yield url


@pytest.fixture
def c_locale_url() -> Iterator[str]:
    with _scratch_database("UTF8") as url:
        yield url


def test_a_latin1_database_opens_and_is_warned_about(caplog: pytest.LogCaptureFixture) -> None:
    # The probe's Greek and Cyrillic letters cannot be sent to it: until 2026-12-07 every command failed there.
    caplog.set_level(logging.WARNING)
    with _scratch_database("LATIN1") as url:
        db = Database.open(url)
        try:
            db.upgrade()
            db.check_schema()
            [warning] = [r.getMessage() for r in caplog.records if "its encoding is LATIN1" in r.getMessage()]
            assert "a mention in any other cannot be stored" in warning and "ENCODING 'UTF8'" in warning
        finally:
            db.dispose()


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and "LC_CTYPE" in r.getMessage()]


def _status_warning(db: Database, url: str) -> str | None:
    config = Config.from_dict({"database": {"url": url}, "brands": [{"name": "Acme", "keywords": ["acme"]}],
                                "connectors": {"sample": {}}})
    return collect_status(db, config).search_case_warning


def test_a_c_locale_database_is_warned_about_once_and_in_status(c_locale_url: str,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    db = Database.open(c_locale_url)
    try:
        db.upgrade()
        db.check_schema()  # each command opens the database so: still one warning
        [warning] = _warnings(caplog)
        assert "its LC_CTYPE is 'C', so search ignores case for a-z only" in warning
        assert "UTF-8 locale" in warning  # and what to do about it
        assert _status_warning(db, c_locale_url) == warning
    finally:
        db.dispose()


def test_a_utf8_locale_database_is_not_warned_about(database_url: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    db = Database.open(database_url)  # the test server's database is C.UTF-8 (SQLite: always any script)
    try:
        db.upgrade()
        assert _warnings(caplog) == []
        assert _status_warning(db, database_url) is None
    finally:
        db.dispose()


def test_status_prints_the_warning(c_locale_url: str, tmp_path: Path) -> None:
    config = tmp_path / "mentiondesk.toml"
    config.write_text('[[brands]]\nname = "Acme"\nkeywords = ["acme"]\n\n[connectors.sample]\n', encoding="utf-8")
    runner = CliRunner()
    env = {"MENTIONDESK_DATABASE_URL": c_locale_url}
    assert runner.invoke(cli, ["--config", str(config), "db", "upgrade"], env=env).exit_code == 0
    result = runner.invoke(cli, ["--config", str(config), "status"], env=env)
    assert result.exit_code == 0, result.output
    assert "warning: database " in result.stdout and "search ignores case for a-z only" in result.stdout
