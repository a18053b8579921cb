"""`[retention] raw_payload_days` prunes when `run` starts, not only a day later: a worker restarted
more often than daily (deploys, crashes under Restart=always) used to never prune. A prune that fails (the database
locked by a long write elsewhere) is logged, without the payloads SQLAlchemy's error quotes, and tried again soon:
until 2026-12-07 its error went to stderr as a bare traceback, parameters and all, and the next try was a day later."""

from __future__ import annotations

import logging
import sqlite3
import threading
from datetime import timedelta

import pytest
from sqlalchemy.exc import OperationalError

from monitor import poller
from monitor.config import Config
from monitor.models import Mention, utcnow
from monitor.poller import PollScheduler
from monitor.retention import prune_raw_payloads
from monitor.storage import Database
from tests.fault_tools import url_of, wait_until

PAYLOAD = "card 4111 1111 1111 1111, 1 Main St"


def _worker_with_a_month_old_payload(db: Database) -> PollScheduler:
    month_ago = utcnow() - timedelta(days=30)
    with db.write() as session:
        session.add(Mention(platform="sample", external_id="old", text="acme", raw={"payload": PAYLOAD},
                            created_at=month_ago, fetched_at=month_ago))
    config = Config.from_dict({"database": {"url": url_of(db)}, "brands": [{"name": "Acme", "keywords": ["acme"]}],
                               "sentiment": {"backend": "none"}, "retention": {"raw_payload_days": 1},
                               "connectors": {"sample": {"total_per_query": 0}}}, env={})
    return PollScheduler(db, config)


def _pruned(db: Database) -> bool:
    with db.read() as session:
        return session.get_one(Mention, 1).raw_pruned_at is not None


def test_run_prunes_old_raw_payloads_at_start_up(db: Database) -> None:
    scheduler = _worker_with_a_month_old_payload(db)
    running = threading.Thread(target=scheduler.run, kwargs={"max_seconds": 120})
    running.start()
    try:
        wait_until(lambda: _pruned(db), 30, "the old raw payload to be pruned")
        wait_until(lambda: not any(t.name == "retention" for t in threading.enumerate()), 30, "the prune to end")
    finally:
        scheduler.stop_event.set()
        running.join(30)
    with db.read() as session:
        assert "payload" not in session.get_one(Mention, 1).raw


def test_a_failed_prune_is_logged_and_tried_again(
        db: Database, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
        capfd: pytest.CaptureFixture[str]) -> None:
    tries = []

    def locked_the_first_time(database: Database, older_than: timedelta) -> int:
        tries.append(older_than)
        if len(tries) == 1:
            raise OperationalError("UPDATE mentions SET raw=? WHERE id=?", [({"payload": PAYLOAD}, 1)],
                                   sqlite3.OperationalError("database is locked"))
        return prune_raw_payloads(database, older_than)

    monkeypatch.setattr(poller, "prune_raw_payloads", locked_the_first_time)
    monkeypatch.setattr(poller, "RETENTION_RETRY_SECONDS", 0.2, raising=False)
    scheduler = _worker_with_a_month_old_payload(db)
    running = threading.Thread(target=scheduler.run, kwargs={"max_seconds": 60})
    with caplog.at_level(logging.WARNING, logger="mentiondesk.poller"):
        running.start()
        try:
            wait_until(lambda: _pruned(db), 15, "the prune to be tried again")
        finally:
            scheduler.stop_event.set()
            running.join(30)
    assert len(tries) == 2
    [failure] = [r for r in caplog.records if "prune" in r.getMessage()]
    assert failure.levelno == logging.WARNING and "database is locked" in failure.getMessage()
    assert PAYLOAD not in caplog.text + capfd.readouterr().err
