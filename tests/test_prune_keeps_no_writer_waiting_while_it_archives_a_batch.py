"""A prune reads and archives each batch outside the database's write lock, and holds it only to clear the batch:
a big prune held it through each batch's read and archive write (seconds each on a big SQLite database), so a
worker's writes waited, or failed with "database is locked". A batch another prune cleared meanwhile is cleared and
counted once."""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from monitor.models import Mention, utcnow
from monitor.retention import prune_raw_payloads
from monitor.storage import Database
from tests.connector_doubles import T0

MENTIONS = 20
OLD = [f"old-{n}" for n in range(MENTIONS)]


def add_old_mentions(db: Database) -> None:
    """MENTIONS mentions fetched 100 days ago, each with a 50 KB payload: a batch's archive lines (1 MB) are more than
    a pipe holds, so a prune archiving to one waits for its reader."""
    with db.write() as session:
        session.add_all(Mention(platform="x", external_id=external_id, text="acme", created_at=T0,
                                fetched_at=utcnow() - timedelta(days=100), raw={"blob": "x" * 50_000})
                        for external_id in OLD)


@contextmanager
def pruning_into_a_pipe(db: Database) -> Iterator[dict[str, Any]]:
    """A prune (in another thread) whose archive is a pipe nobody reads until the block ends, so it stays in its
    first batch's archive write; then the pipe is read to its end. Yields what the prune returned ("pruned") and
    the external ids it archived ("archived"), there once the block has ended."""
    read_end, write_end = os.pipe()
    outcome: dict[str, Any] = {}

    def prune() -> None:
        with os.fdopen(write_end, "w", encoding="utf-8") as archive:
            outcome["pruned"] = prune_raw_payloads(db, timedelta(days=90), archive)

    pruning = threading.Thread(target=prune, daemon=True)
    pruning.start()
    with os.fdopen(read_end, "rb") as reader:
        first = reader.read(1)  # the prune is archiving its first batch
        try:
            yield outcome
        finally:
            outcome["archived"] = [json.loads(line)["external_id"] for line in (first + reader.read()).splitlines()]
            pruning.join(60)


def pruned_at(db: Database) -> dict[str, Any]:
    with db.read() as session:
        return dict(session.execute(select(Mention.external_id, Mention.raw_pruned_at)).all())


def test_another_process_writes_while_a_prune_archives_a_batch(sqlite_db: Database, tmp_path: Path) -> None:
    add_old_mentions(sqlite_db)
    with pruning_into_a_pipe(sqlite_db) as outcome:
        # Another process's write (a worker storing a page), waiting at most 2 s for the lock.
        worker = sqlite3.connect(tmp_path / "mentiondesk.db", timeout=2, isolation_level=None)
        try:
            worker.execute("UPDATE mentions SET text = 'acme, edited' WHERE external_id = 'old-0'")
        finally:
            worker.close()
    assert outcome["pruned"] == MENTIONS and outcome["archived"] == OLD
    with sqlite_db.read() as session:
        assert session.scalar(select(Mention.text).where(Mention.external_id == "old-0")) == "acme, edited"
    assert all(pruned_at(sqlite_db).values())


def test_a_batch_another_prune_cleared_while_it_was_archived_is_cleared_and_counted_once(db: Database) -> None:
    add_old_mentions(db)
    with pruning_into_a_pipe(db) as outcome:
        assert prune_raw_payloads(db, timedelta(days=90)) == MENTIONS  # the worker's daily prune, say
        cleared = pruned_at(db)
    assert outcome["pruned"] == 0
    assert outcome["archived"] == OLD  # archived whole all the same: a payload may be archived twice, never lost
    assert pruned_at(db) == cleared and all(cleared.values())
