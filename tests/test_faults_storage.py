"""Storage faults: PostgreSQL restarted under load, SQLite's disk full, a classify worker killed mid-batch
or cut off from PostgreSQL before its write.

After each: nothing lost, nothing doubled, and the worker carries on by itself once the database is back.
"""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, func, select, text
from sqlalchemy.exc import OperationalError

from connectors.emulators import RunningEmulators
from monitor import poller
from monitor.classify import MentionClassifier
from monitor.models import Mention, utcnow
from monitor.pipeline import Pipeline
from monitor.storage import Database
from sentiment.triage import TriageRules
from tests.classify_worker import SlowModel
from tests.fault_tools import (  # noqa: F401 - small_emulators is the emulators fixture here
    Publisher,
    RunningWorker,
    TcpProxy,
    add_unclassified,
    assert_nothing_lost_or_doubled,
    connector_status,
    count_classified,
    expected_x_ids,
    polled_since,
    postgres_through_proxy,
    small_emulators,
    start_classify_worker,
    stored_x_ids,
    url_of,
    wait_until,
    wait_until_read,
    x_worker_config,
)


@pytest.fixture
def fast_heartbeat(monkeypatch: pytest.MonkeyPatch) -> None:
    """Heartbeats (and health-file writes) every half second, so an outage always spans a few."""
    monkeypatch.setattr(poller, "HEARTBEAT_SECONDS", 0.5)


def _health(path: Path) -> dict:
    return json.loads(path.read_text())


def test_postgres_restart_under_load_the_worker_reconnects_by_itself(
        postgres_url: str, emulators: RunningEmulators, tmp_path: Path, fast_heartbeat: None) -> None:
    db = Database.open(postgres_url)
    db.upgrade()
    health = tmp_path / "health.json"
    # The worker reaches PostgreSQL through a proxy: down() resets its connections and refuses new
    # ones, as a server restart does, without touching the server other sessions share.
    with postgres_through_proxy(postgres_url) as (proxy, worker_url):
        with RunningWorker(worker_url, x_worker_config(worker_url, emulators.x_url), health) as worker:
            with Publisher(emulators, 10) as publisher:
                wait_until(lambda: len(stored_x_ids(db)) >= 20, 20, "the first mentions")
                proxy.down()
                # The supervisor still hears from the worker while the database is away, and why it fails.
                error = wait_until(lambda: _health(health)["connectors"]["x"].get("last_error"), 10,
                                   "the health file to show the outage")
                assert error.startswith("database error:") and "[SQL:" not in error, error
                time.sleep(2)
                worker.assert_alive()
                proxy.restore()
                restored_at = time.time()
                wait_until(lambda: polled_since(db, restored_at), 20, "a successful poll after the restart")
            expected = expected_x_ids(emulators, publisher.published)
            wait_until_read(db, time.time(), expected)
            wait_until(lambda: _health(health)["connectors"]["x"].get("last_ok"), 10, "the health file to show it")
            worker.stop()
    assert_nothing_lost_or_doubled(db, emulators, expected)
    db.dispose()


def test_sqlite_disk_full_is_a_clear_error_and_the_worker_goes_on_once_there_is_space(
        sqlite_db: Database, emulators: RunningEmulators, tmp_path: Path, fast_heartbeat: None) -> None:
    url = url_of(sqlite_db)
    health = tmp_path / "health.json"
    worker = RunningWorker(url, x_worker_config(url, emulators.x_url), health)
    # The disk: every connection the worker takes may grow the file only up to ``pages`` (None: no
    # limit). SQLite then fails exactly as on a full disk (SQLITE_FULL, "database or disk is full").
    pages: list[int | None] = [None]

    @event.listens_for(worker.db.engine, "checkout")
    def _disk_size(dbapi_connection: object, _record: object, _proxy: object) -> None:
        dbapi_connection.execute(f"PRAGMA max_page_count = {pages[0] or 1_073_741_823}")  # type: ignore[attr-defined]

    with worker:
        with Publisher(emulators, 10) as publisher:
            wait_until(lambda: len(stored_x_ids(sqlite_db)) >= 20, 20, "the first mentions")
            with sqlite_db.read() as session:
                pages[0] = session.scalar(text("PRAGMA page_count"))
            full_at = time.time()
            status = wait_until(lambda: (s := connector_status(sqlite_db)) and s.last_error_at
                                and s.last_error_at.timestamp() > full_at and s, 20, "the full disk to be reported")
            assert "database is full" in (status.last_error or ""), status.last_error
            assert "INSERT" not in (status.last_error or "")  # the error names the problem, not our SQL
            wait_until(lambda: "database is full" in (_health(health)["connectors"]["x"].get("last_error") or ""),
                       10, "the health file to show the full disk")
            worker.assert_alive()
            pages[0] = None
            freed_at = time.time()
            wait_until(lambda: polled_since(sqlite_db, freed_at), 20, "a successful poll once there is space")
        expected = expected_x_ids(emulators, publisher.published)
        wait_until_read(sqlite_db, time.time(), expected)
        worker.stop()
    with sqlite_db.read() as session:
        assert session.scalar(text("PRAGMA integrity_check")) == "ok"
    assert_nothing_lost_or_doubled(sqlite_db, emulators, expected)


def test_kill_9_mid_classify_then_restart_classifies_each_mention_exactly_once(db: Database, tmp_path: Path) -> None:
    total = 60
    add_unclassified(db, total, "@acme my order {n} never came")
    url = url_of(db)
    claim_seconds = 6.0
    first = start_classify_worker(url, tmp_path / "first.log", claim_seconds=claim_seconds)
    # Killed with a read stored and the next one in the model (claimed, not yet written).
    wait_until(lambda: count_classified(db)[1] >= 16 and _claimed_unclassified(db), 30,
               "the first batches to be stored and the next claimed")
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    killed_at = time.monotonic()
    assert first.returncode == -signal.SIGKILL, "the classify worker finished before it could be killed"
    with db.read() as session:
        before = dict(session.execute(select(Mention.id, Mention.classified_at)
                                      .where(Mention.classified_at.is_not(None))).all())
    assert 16 <= len(before) < total
    if not db.is_sqlite:
        assert _locked_mentions(db) == 0, "the killed worker held row locks while its model ran"

    # The restarted worker (in this process: its start-up is not what is tested) takes the rest, the
    # killed worker's claimed rows included: its process is gone from this host, so no wait for them.
    restarted = Pipeline(db, MentionClassifier(SlowModel(0), TriageRules()), batch_size=4)
    assert _claimed_unclassified(db) > 0
    assert len(restarted.process_pending()) == total - len(before)
    assert time.monotonic() - killed_at < claim_seconds, "the claim ran out before the restart took it"
    with db.read() as session:
        after = dict(session.execute(select(Mention.id, Mention.classified_at)).all())
    assert all(after.values()), "a mention was left unclassified"
    assert {i: after[i] for i in before} == before, "a mention classified before the kill was classified again"


class CutsTheDatabase(SlowModel):
    """The model; while it runs, the worker's link to PostgreSQL goes down (as in a restart)."""

    def __init__(self, proxy: TcpProxy) -> None:
        super().__init__(0)
        self.proxy = proxy

    def classify(self, texts: list[str], langs: list[str | None], batch_size: int = 64,
                 expected_languages: frozenset[str] = frozenset()) -> list[Any]:
        self.proxy.down()
        return super().classify(texts, langs, batch_size, expected_languages)


def test_a_classify_worker_whose_write_failed_takes_its_own_claim_again_at_once(
        postgres_db: Database, postgres_url: str) -> None:
    add_unclassified(postgres_db, 5)
    with postgres_through_proxy(postgres_url) as (proxy, worker_url):
        worker_db = Database.open(worker_url)
        worker = MentionClassifier(CutsTheDatabase(proxy), TriageRules())
        with pytest.raises(OperationalError):
            worker.classify_pending(worker_db)
        proxy.restore()
        # Its claim holds against other workers, but not against itself: no 120 s wait for those five.
        assert MentionClassifier(SlowModel(0), TriageRules()).classify_pending(postgres_db) == []
        worker.classifier = SlowModel(0)
        assert len(worker.classify_pending(worker_db)) == 5
        worker_db.dispose()


def _claimed_unclassified(db: Database) -> int:
    """Mentions a classify worker claims now and has not written yet."""
    with db.read() as session:
        return session.scalar(select(func.count()).where(Mention.classified_at.is_(None),
                                                         Mention.classify_claimed_until > utcnow())) or 0


def _locked_mentions(db: Database) -> int:
    with db.read() as session:
        return session.scalar(text(
            "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
            "WHERE c.relname = 'mentions' AND c.relnamespace = to_regnamespace(current_schema()) "
            "AND l.pid <> pg_backend_pid()")) or 0
