"""SQLite migrates with foreign keys off and checks the links afterwards. A row pointing at nothing from before (a
mention deleted with the sqlite3 shell leaves its tags) is reported and the upgrade goes on; only rows the
migration left pointing at nothing roll it back."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import text

from monitor.storage import Database, MigrationFailed

BEFORE_HEAD = "0017"


def _tagged_mentions_at_0017(path: Path, count: int) -> Database:
    """A database at schema 0017 holding mentions 1..count, each tagged."""
    db = Database.open(f"sqlite:///{path}")
    db.upgrade(BEFORE_HEAD)
    with db.engine.begin() as conn:
        for i in range(1, count + 1):
            conn.execute(text("INSERT INTO mentions (id, platform, external_id, text, created_at, fetched_at, raw, "
                              "replyable, status) VALUES (:i, 'x', :i, 't', '2026-11-20 12:00:00.000000', "
                              "'2026-11-20 12:00:00.000000', '{}', 0, 'new')"), {"i": i})
            conn.execute(text("INSERT INTO mention_tags (mention_id, tag) VALUES (:i, 'billing')"), {"i": i})
    return db


def _delete_as_the_sqlite3_shell_does(path: Path, mention_id: int) -> None:
    conn = sqlite3.connect(path)  # foreign keys off: its tags stay
    with conn:
        conn.execute("DELETE FROM mentions WHERE id = ?", (mention_id,))
    conn.close()


def test_rows_broken_before_the_upgrade_are_reported_and_do_not_block_it(tmp_path: Path,
                                                                          caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "mentiondesk.db"
    db = _tagged_mentions_at_0017(path, count=2)
    _delete_as_the_sqlite3_shell_does(path, 2)
    caplog.set_level(logging.WARNING)
    db.upgrade()
    assert db.current_revision() == db.head_revision()
    [warning] = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert "rows that do not exist (mention_tags → mentions: 1), from before this upgrade" in warning
    assert "PRAGMA foreign_key_check" in warning  # how to find them
    db.dispose()


def test_rows_the_migration_breaks_still_roll_it_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "mentiondesk.db"
    db = _tagged_mentions_at_0017(path, count=3)
    _delete_as_the_sqlite3_shell_does(path, 2)  # broken before: not the migration's doing
    real_upgrade = command.upgrade

    def upgrade_that_loses_a_mention(cfg: AlembicConfig, revision: str) -> None:
        real_upgrade(cfg, revision)
        cfg.attributes["connection"].exec_driver_sql("DELETE FROM mentions WHERE id = 3")

    monkeypatch.setattr(command, "upgrade", upgrade_that_loses_a_mention)
    with pytest.raises(MigrationFailed, match=r"would leave 1 row\(s\) pointing at rows that do not exist "
                                              r"\(mention_tags → mentions\); nothing was changed"):
        db.upgrade()
    assert db.current_revision() == BEFORE_HEAD
    with db.read() as session:
        assert list(session.scalars(text("SELECT id FROM mentions ORDER BY id"))) == [1, 3]
    db.dispose()
