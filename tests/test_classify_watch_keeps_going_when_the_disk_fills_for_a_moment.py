"""`classify-pending --watch` whose database's disk fills for a moment warns and keeps watching (as `run`'s
pollers do); once there is space again it classifies the rest of the backlog."""

from __future__ import annotations

import logging
import signal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import event, text
from sqlalchemy.engine import Engine

import sentiment
from monitor.cli import cli
from monitor.pipeline import Pipeline
from monitor.storage import Database
from sentiment.api import Prediction
from tests.fault_tools import add_unclassified, count_classified, url_of

BACKLOG = 40  # five reads at a batch size of 1: more than the database's free pages hold


class AllNegative:
    """A stand-in model: every text negative."""

    def classify(self, texts: list[str], langs: list[str | None], batch_size: int = 64,
                 expected_languages: frozenset[str] = frozenset()) -> list[Prediction]:
        scores = {"negative": 0.9, "neutral": 0.05, "positive": 0.05}
        return [Prediction("negative", 0.9, scores, lang or "en") for lang in langs]


class FreesSpaceOnWarning(logging.Handler):
    """The operator: frees disk space once the worker warns of it."""

    def __init__(self, max_pages: list[int | None]) -> None:
        super().__init__(logging.WARNING)
        self.max_pages = max_pages
        self.warnings: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.warnings.append(record.getMessage())
        self.max_pages[0] = None


def test_classify_pending_watch_warns_of_a_full_disk_and_classifies_once_there_is_space(
        sqlite_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    add_unclassified(sqlite_db, BACKLOG)
    path = tmp_path / "mentiondesk.toml"
    path.write_text(f'[database]\nurl = "{url_of(sqlite_db)}"\n[sentiment]\nbatch_size = 1\n'
                    '[incidents]\nenabled = false\n[[brands]]\nname = "Acme"\nkeywords = ["acme"]\n'
                    '[connectors.sample]\n')
    monkeypatch.setattr(sentiment, "load_classifier", lambda *args, **kwargs: AllNegative())
    # The disk is full: the database file may not grow (SQLite's max_page_count fails as a full disk does).
    with sqlite_db.read() as session:
        max_pages: list[int | None] = [session.scalar(text("PRAGMA page_count"))]

    def limit_pages(dbapi_connection: Any, _record: object, _proxy: object) -> None:
        dbapi_connection.execute(f"PRAGMA max_page_count = {max_pages[0] or 1_073_741_823}")

    process_pending = Pipeline.process_pending

    def stop_once_all_classified(pipeline: Pipeline) -> list[int]:
        classified = process_pending(pipeline)
        if pipeline.pending_count() == 0:
            signal.raise_signal(signal.SIGTERM)  # handled by the command, in this process
        return classified

    monkeypatch.setattr(Pipeline, "process_pending", stop_once_all_classified)
    operator = FreesSpaceOnWarning(max_pages)
    cli_log = logging.getLogger("monitor.cli")
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    event.listen(Engine, "checkout", limit_pages)
    cli_log.addHandler(operator)
    try:
        result = CliRunner().invoke(cli, ["--config", str(path), "classify-pending", "--watch", "0.1"])
    finally:
        cli_log.removeHandler(operator)
        event.remove(Engine, "checkout", limit_pages)
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
    assert result.exit_code == 0, result.output
    assert len(operator.warnings) == 1 and "the database is full" in operator.warnings[0], operator.warnings
    assert "[SQL" not in operator.warnings[0]  # the warning names the problem, not our SQL
    assert count_classified(sqlite_db) == (BACKLOG, BACKLOG)
    assert result.output.endswith("; stopped\n")
