"""A classify worker told to stop (SIGTERM) stops once the read in hand is stored, not after the whole
backlog: `classify-pending --watch` and the classification inside `run` alike. The rest stays
unclassified and unclaimed, for the next worker to take at once."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

import sentiment
from monitor.classify import BATCHES_PER_READ, MentionClassifier
from monitor.cli import cli
from monitor.config import Config
from monitor.models import Mention
from monitor.pipeline import Pipeline
from monitor.poller import PollScheduler
from monitor.storage import Database
from sentiment.api import Prediction
from sentiment.triage import TriageRules
from tests.fault_tools import add_unclassified, url_of

ONE_READ = BATCHES_PER_READ  # mentions, at a batch size of 1
BACKLOG = 20  # three reads


class StopsWorkerOnFirstRead:
    """A stand-in model (every text negative) that, while on its first read, stops its worker as
    SIGTERM would."""

    def __init__(self) -> None:
        self.stop_worker: Callable[[], object] = lambda: None
        self.reads = 0

    def classify(self, texts: list[str], langs: list[str | None], batch_size: int = 64,
                 expected_languages: frozenset[str] = frozenset()) -> list[Prediction]:
        self.reads += 1
        if self.reads == 1:
            self.stop_worker()
        scores = {"negative": 0.9, "neutral": 0.05, "positive": 0.05}
        return [Prediction("negative", 0.9, scores, lang or "en") for lang in langs]


def _classified_and_claimed(db: Database) -> tuple[int, int]:
    with db.read() as session:
        return (session.scalar(select(func.count()).where(Mention.classified_at.is_not(None))) or 0,
                session.scalar(select(func.count()).where(Mention.classify_claimed_by.is_not(None))) or 0)


def test_classify_pending_watch_stops_on_sigterm_after_the_read_in_hand(
        db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    add_unclassified(db, BACKLOG)
    path = tmp_path / "mentiondesk.toml"
    path.write_text(f'[database]\nurl = "{url_of(db)}"\n[sentiment]\nbatch_size = 1\n[incidents]\nenabled = false\n'
                    '[[brands]]\nname = "Acme"\nkeywords = ["acme"]\n[connectors.sample]\n')
    model = StopsWorkerOnFirstRead()
    model.stop_worker = lambda: signal.raise_signal(signal.SIGTERM)  # handled by the command, in this process
    monkeypatch.setattr(sentiment, "load_classifier", lambda *args, **kwargs: model)
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        result = CliRunner().invoke(cli, ["--config", str(path), "classify-pending", "--watch", "0.1"])
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
    assert result.exit_code == 0, result.output
    assert result.output.endswith(f"classified {ONE_READ} mention(s); stopped\n")
    assert _classified_and_claimed(db) == (ONE_READ, 0)


def test_run_stopped_during_a_read_classifies_no_further_read(db: Database) -> None:
    add_unclassified(db, BACKLOG)
    config = Config.from_dict({"database": {"url": url_of(db)}, "brands": [{"name": "Acme", "keywords": ["acme"]}],
                               "sentiment": {"backend": "none"}, "connectors": {"sample": {"total_per_query": 0}}},
                              env={})
    model = StopsWorkerOnFirstRead()
    pipeline = Pipeline(db, MentionClassifier(model, TriageRules()), batch_size=1)
    scheduler = PollScheduler(db, config, pipeline=pipeline)
    model.stop_worker = scheduler.stop_event.set  # what SIGTERM does
    scheduler.run(max_seconds=120)  # classifies the backlog left from before the start
    assert _classified_and_claimed(db) == (ONE_READ, 0)


def test_a_classifier_given_its_stop_signal_stops_after_the_read_in_hand(db: Database) -> None:
    add_unclassified(db, BACKLOG)
    stop, model = threading.Event(), StopsWorkerOnFirstRead()
    model.stop_worker = stop.set
    classifier = MentionClassifier(model, TriageRules(), stop_requested=stop.is_set)
    assert len(classifier.classify_pending(db, batch_size=1)) == ONE_READ
    assert _classified_and_claimed(db) == (ONE_READ, 0)
    assert MentionClassifier(model, TriageRules()).stop_requested() is False


def test_pipeline_from_config_hands_the_stop_signal_to_its_classifier(db: Database,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    add_unclassified(db, BACKLOG)
    stop, model = threading.Event(), StopsWorkerOnFirstRead()
    model.stop_worker = stop.set
    monkeypatch.setattr(sentiment, "load_classifier", lambda *args, **kwargs: model)
    config = Config.from_dict({"database": {"url": url_of(db)}, "brands": [{"name": "Acme", "keywords": ["acme"]}],
                               "sentiment": {"batch_size": 1}, "incidents": {"enabled": False},
                               "connectors": {"sample": {}}}, env={})
    pipeline = Pipeline.from_config(db, config, stop_requested=stop.is_set)
    assert len(pipeline.process_pending()) == ONE_READ
    assert _classified_and_claimed(db) == (ONE_READ, 0)
