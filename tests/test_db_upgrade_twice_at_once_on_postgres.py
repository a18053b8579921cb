"""`mentiondesk db upgrade` run twice at once on PostgreSQL (two deploy jobs), a schema moved by another
program meanwhile, and an alembic_version table holding two rows: each ends in one clear line."""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from monitor.cli import cli
from monitor.storage import Database, MigrationFailed


def _upgrade(url: str, results: multiprocessing.Queue) -> None:
    db = Database.open(url)
    try:
        db.upgrade()
        results.put(f"at {db.current_revision()}")
    except Exception as exc:  # the outcome goes back to the test, whatever it is
        results.put(f"{exc.__class__.__name__}: {str(getattr(exc, 'orig', exc)).splitlines()[0]}")


def _until(condition: Callable[[], bool]) -> None:
    """Wait for what another process or thread is to reach; a bound on it, not a timing check."""
    for _ in range(600):
        if condition():
            return
        threading.Event().wait(0.1)
    raise AssertionError("the other side never got there")


def _blocked_by(holder: sa.Connection) -> int:
    """How many sessions wait for a lock ``holder`` holds."""
    holder_pid = holder.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()
    with holder.engine.connect() as watcher:
        return watcher.execute(sa.text("SELECT count(*) FROM pg_stat_activity WHERE :pid = ANY(pg_blocking_pids(pid))"),
                               {"pid": holder_pid}).scalar_one()


@pytest.mark.parametrize("start", ["0013", "0016"])
def test_two_upgrades_released_together_both_find_the_schema_upgraded(postgres_url: str, start: str) -> None:
    # Both read the old revision and ran the migrations: the second failed with a 61-line alembic
    # traceback ("Online migration expected to match one row") or "column … already exists".
    db = Database.open(postgres_url)
    db.upgrade(start)
    context = multiprocessing.get_context("fork")  # the children start from this process: quick
    results = context.Queue()
    with db.engine.connect() as holder:
        # Both upgrades start while the revision cannot be read, so that both read it at the same moment.
        holder.execute(sa.text("LOCK TABLE alembic_version IN ACCESS EXCLUSIVE MODE"))
        processes = [context.Process(target=_upgrade, args=(postgres_url, results)) for _ in range(2)]
        for process in processes:
            process.start()
        _until(lambda: _blocked_by(holder) == 2)
        holder.rollback()
    outcomes = sorted(results.get() for _ in processes)
    for process in processes:
        process.join()
    assert outcomes == [f"at {db.head_revision()}"] * 2
    db.dispose()


def test_an_upgrade_meeting_a_schema_another_program_moved_meanwhile_changes_nothing(postgres_url: str) -> None:
    # An older mentiondesk, which takes no lock, upgrading at the same time: alembic's CommandError was
    # a traceback.
    db = Database.open(postgres_url)
    db.upgrade("0013")
    outcome: list[BaseException] = []
    with db.engine.connect() as other:
        other.execute(sa.text("UPDATE alembic_version SET version_num = '0016'"))  # not committed yet
        upgrading = threading.Thread(target=lambda: _keep_error(outcome, db.upgrade))
        upgrading.start()
        _until(lambda: _blocked_by(other) == 1)  # its first step's revision update waits
        other.commit()
    upgrading.join()
    assert len(outcome) == 1 and isinstance(outcome[0], MigrationFailed)
    assert str(outcome[0]).endswith("; nothing was changed") and "to schema " in str(outcome[0])
    assert db.current_revision() == "0016"
    db.dispose()


def _keep_error(outcome: list[BaseException], action: Callable[[], None]) -> None:
    try:
        action()
    except BaseException as exc:  # the test looks at it
        outcome.append(exc)


def test_two_rows_in_alembic_version_are_one_line_naming_both(database_url: str, tmp_path: Path) -> None:
    # A restore or a hand edit leaving two rows: `status` and `db upgrade` printed alembic's traceback.
    config = tmp_path / "mentiondesk.toml"
    assert CliRunner().invoke(cli, ["--config", str(config), "init"]).exit_code == 0
    db = Database.open(database_url)
    db.upgrade()
    with db.engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO alembic_version (version_num) VALUES ('0013')"))
    for command in (["status"], ["db", "upgrade"]):
        result = CliRunner().invoke(cli, ["--config", str(config), *command],
                                    env={"MENTIONDESK_DATABASE_URL": database_url})
        assert result.exit_code == 1 and result.output.count("\n") == 1, result.output
        assert result.output.startswith("Error: database ")
        assert f"alembic_version table holds 2 schema revisions (0013, {db.head_revision()})" in result.output
    db.dispose()
