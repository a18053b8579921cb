"""A `run` worker whose polls store nothing (another worker on the PostgreSQL database holds the leases) still takes
its share of the classification: its heartbeat sets its classifier to the backlog it finds. Until 2026-12-07 it
woke only for its own polls' mentions or the minute tick, so the worker storing a burst classified it alone."""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from monitor.classify import MentionClassifier
from monitor.config import Config
from monitor.models import Mention
from monitor.pipeline import Pipeline
from monitor.poller import PollScheduler
from monitor.storage import Database
from sentiment.api import Prediction
from sentiment.triage import TriageRules
from tests.fault_tools import add_unclassified, url_of


class Neutral:
    """A stand-in model that says so each time it is asked."""

    def __init__(self) -> None:
        self.asked = threading.Event()

    def classify(self, texts: list[str], langs: list[str | None], batch_size: int = 64,
                 expected_languages: frozenset[str] = frozenset()) -> list[Prediction]:
        self.asked.set()
        return [Prediction("neutral", 0.9, {"negative": 0.05, "neutral": 0.9, "positive": 0.05}, lang or "en")
                for lang in langs]


def test_a_heartbeat_sets_the_classifier_to_a_backlog_stored_by_another_worker(db: Database) -> None:
    config = Config.from_dict({"database": {"url": url_of(db)}, "brands": [{"name": "Acme", "keywords": ["acme"]}],
                               "sentiment": {"backend": "none"}, "connectors": {"sample": {"total_per_query": 0}}},
                              env={})
    model = Neutral()
    scheduler = PollScheduler(db, config, pipeline=Pipeline(db, MentionClassifier(model, TriageRules())))
    assert scheduler.worker is not None
    scheduler.worker.start()
    try:
        add_unclassified(db, 5)  # stored by another worker after this one's start
        scheduler._heartbeat()
        assert model.asked.wait(30), "the heartbeat did not set the classifier going"
    finally:
        scheduler.worker.stop()
        scheduler.worker.join(30)
    with db.read() as session:
        assert session.scalar(select(func.count()).where(Mention.classified_at.is_(None))) == 0
