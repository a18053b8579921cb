"""Upgrading a database that holds data: nothing lost, two processes at once, a schema newer than the code."""

from __future__ import annotations

import multiprocessing
from datetime import datetime, timezone
from pathlib import Path

import alembic.command
import pytest
import sqlalchemy as sa
from alembic.config import Config as AlembicConfig
from click.testing import CliRunner

from monitor.cli import cli
from monitor.errors import MentiondeskError
from monitor.models import IncidentMention
from monitor.storage import Database

AT = datetime(2026, 11, 1, 9, tzinfo=timezone.utc)


def _store_an_incident_at_0010(db: Database, members: int) -> None:
    """A brand, mentions and an incident holding them, written with the tables as they were at 0010."""
    with db.engine.begin() as conn:
        tables = sa.MetaData()
        tables.reflect(conn, only=["brands", "mentions", "incidents", "incident_mentions"])
        conn.execute(tables.tables["brands"].insert().values(id=1, key="acme", name="Acme", created_at=AT,
                                                             reply_approval=False))
        conn.execute(tables.tables["mentions"].insert(), [
            dict(id=i, brand_id=1, platform="x", external_id=str(i), text="tracking link broken", created_at=AT,
                 fetched_at=AT, raw={}, replyable=False, status="new") for i in range(1, members + 1)])
        conn.execute(tables.tables["incidents"].insert().values(
            id=1, brand_id=1, status="open", opened_at=AT, first_seen_at=AT, last_seen_at=AT, mention_count=members,
            reach=250_000, summary={}))
        conn.execute(tables.tables["incident_mentions"].insert(), [
            dict(mention_id=i, incident_id=1, similarity=0.5, joined_at=AT) for i in range(1, members + 1)])


def _members(db: Database) -> list[int]:
    with db.read() as session:
        return sorted(session.scalars(sa.select(IncidentMention.mention_id).where(IncidentMention.incident_id == 1)))


def test_upgrading_from_0010_keeps_every_incidents_mentions(database_url: str) -> None:
    # Migration 0011 rebuilds `incidents` on SQLite; with foreign keys on, dropping the old table
    # cascaded to incident_mentions and every incident was left empty.
    db = Database.open(database_url, pool_size=1, max_overflow=0)  # one connection: the migration's, reused below
    db.upgrade("0010")
    _store_an_incident_at_0010(db, members=6)
    db.upgrade()
    assert db.current_revision() == db.head_revision()
    assert _members(db) == [1, 2, 3, 4, 5, 6]
    # Foreign keys hold again afterwards: a deleted mention leaves its incident.
    with db.write() as session:
        session.execute(sa.text("DELETE FROM mentions WHERE id = 6"))
    assert _members(db) == [1, 2, 3, 4, 5]
    db.dispose()


def test_an_upgrade_that_would_leave_rows_pointing_at_nothing_changes_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Migrations run with SQLite's foreign keys off; what they leave is checked before it is committed.
    # (Rows pointing at nothing from before the upgrade do not block it: test_storage_upgrade_goes_on_past_...)
    path = tmp_path / "mentiondesk.db"
    db = Database.open(f"sqlite:///{path}")
    db.upgrade("0010")
    _store_an_incident_at_0010(db, members=2)
    real_upgrade = alembic.command.upgrade

    def upgrade_that_loses_a_mention(cfg: AlembicConfig, revision: str) -> None:
        real_upgrade(cfg, revision)
        cfg.attributes["connection"].exec_driver_sql("DELETE FROM mentions WHERE id = 2")

    monkeypatch.setattr(alembic.command, "upgrade", upgrade_that_loses_a_mention)
    with pytest.raises(MentiondeskError, match=r"would leave 1 row\(s\) pointing at rows that do not exist "
                                               r"\(incident_mentions → mentions\); nothing was changed"):
        db.upgrade()
    assert db.current_revision() == "0010"
    db.dispose()


def _upgrade_when_all_are_ready(url: str, ready: multiprocessing.synchronize.Barrier,
                                results: multiprocessing.Queue) -> None:
    db = Database.open(url)
    ready.wait()
    try:
        db.upgrade()
        results.put(f"at {db.current_revision()}")
    except Exception as exc:  # the outcome goes back to the test, whatever it is
        results.put(f"{exc.__class__.__name__}: {str(getattr(exc, 'orig', exc)).splitlines()[0]}")


def test_two_processes_starting_on_an_old_sqlite_file_both_find_it_upgraded(tmp_path: Path) -> None:
    # A worker and the dashboard started together after an update: one of them failed with
    # "database is locked" when its read of the schema's revision turned into a migration's write.
    context = multiprocessing.get_context("fork")  # the children start from this process: quick
    for attempt in range(3):
        url = f"sqlite:///{tmp_path / f'mentiondesk-{attempt}.db'}"
        db = Database.open(url)
        db.upgrade("0014")
        head = db.head_revision()
        db.dispose()
        ready, results = context.Barrier(2), context.Queue()
        processes = [context.Process(target=_upgrade_when_all_are_ready, args=(url, ready, results)) for _ in range(2)]
        for process in processes:
            process.start()
        outcomes = sorted(results.get() for _ in processes)
        for process in processes:
            process.join()
        assert outcomes == [f"at {head}", f"at {head}"]


def _one_line_refusal(database_url: str, config: Path, *args: str) -> str:
    result = CliRunner().invoke(cli, ["--config", str(config), *args], env={"MENTIONDESK_DATABASE_URL": database_url})
    assert result.exit_code == 1, result.output
    return result.output


def test_a_database_newer_than_the_code_is_one_line_saying_to_upgrade_mentiondesk(database_url: str,
                                                                                   tmp_path: Path) -> None:
    # A rollback of mentiondesk, or an older install beside a newer one: an alembic traceback (97
    # lines) on SQLite, "run `mentiondesk db upgrade`" (which failed the same way) on PostgreSQL.
    config = tmp_path / "mentiondesk.toml"
    assert CliRunner().invoke(cli, ["--config", str(config), "init"]).exit_code == 0
    db = Database.open(database_url)
    db.upgrade()
    head = db.head_revision()
    with db.engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))
    expected = f"is at schema 9999, newer than this mentiondesk ({head}): upgrade mentiondesk\n"
    for command in (["status"], ["db", "upgrade"]):
        output = _one_line_refusal(database_url, config, *command)
        assert output.startswith("Error: database ") and output.endswith(expected) and output.count("\n") == 1
    with db.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == "9999"
    db.dispose()
