"""A `classify-pending --watch` worker is listed by `mentiondesk status` as running while it works and as
stopped after, as `run`'s workers are: until 2026-12-07 it wrote no heartbeat, so status never showed it."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor import workers
from monitor.cli import cli
from monitor.storage import Database
from monitor.workers import recent_workers
from tests.fault_tools import wait_until


def test_a_watching_classify_worker_beats_while_it_runs_and_is_stopped_after(
        db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "mentiondesk.toml"
    config.write_text(f'[database]\nurl = "{db.engine.url.render_as_string(hide_password=False)}"\n'
                      '[[brands]]\nname = "Acme"\nkeywords = ["acme"]\n[connectors.sample]\n'
                      '[sentiment]\nbackend = "hf"\nmodel = "unused"\n', encoding="utf-8")
    monkeypatch.setattr(workers, "HEARTBEAT_SECONDS", 0.05, raising=False)
    monkeypatch.setattr("monitor.pipeline.Pipeline.from_config", lambda *a, **k: _Idle())
    # The command stops on SIGINT/SIGTERM; its handler is called here instead (the command runs in a thread).
    handlers: list[Callable[..., None]] = []
    monkeypatch.setattr("signal.signal", lambda signal, handler: handlers.append(handler))
    result: list[object] = []
    runner = threading.Thread(target=lambda: result.append(
        CliRunner().invoke(cli, ["--config", str(config), "classify-pending", "--watch", "0.1"])))
    runner.start()
    first = wait_until(lambda: recent_workers(db), 10, "the worker's first heartbeat")[0]
    assert first.stopped_at is None
    wait_until(lambda: recent_workers(db)[0].heartbeat_at > first.heartbeat_at, 10, "a later heartbeat")
    handlers[0](None, None)
    runner.join(10)
    assert result and result[0].exit_code == 0, result  # type: ignore[attr-defined]
    [worker] = recent_workers(db)
    assert worker.id == first.id and worker.stopped_at is not None


class _Idle:
    """A pipeline whose classifier exists and finds nothing to classify."""

    classifier = object()

    def process_pending(self) -> list[int]:
        return []
