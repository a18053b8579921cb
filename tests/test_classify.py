"""New mentions get sentiment, intent and priority in batches; workers never classify a row twice."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from sqlalchemy import func, select

from monitor.classify import MentionClassifier
from monitor.config import Config
from monitor.models import Mention
from monitor.pipeline import Pipeline
from monitor.poller import poll_once
from monitor.storage import Database
from sentiment.api import Prediction
from sentiment.errors import SettingError
from sentiment.triage import TriageRules
from tests.connector_doubles import T0


def test_polled_mentions_are_classified_with_the_bundled_model(sqlite_db: Database) -> None:
    config = Config.from_dict({"brands": [{"name": "Acme", "keywords": ["acme"]}],
                               "connectors": {"sample": {"total_per_query": 24}}}, env={})
    reports = poll_once(sqlite_db, config)
    pipeline = Pipeline.from_config(sqlite_db, config)
    assert len(pipeline.process_pending(i for r in reports for i in r.new_ids)) == 24
    with sqlite_db.read() as session:
        mentions = session.scalars(select(Mention)).all()
    assert all(m.classified_at is not None and m.sentiment_label in ("negative", "neutral", "positive")
               and m.intent in ("complaint", "question", "praise", "other") and 0 <= (m.priority or -1) <= 100
               for m in mentions)
    by_text = {m.text: m for m in mentions}
    complaint = by_text.get("@Acme my order hasn't arrived after two weeks, this is unacceptable")
    praise = by_text.get("Honestly Acme support was amazing today, thank you!")
    assert complaint is not None and complaint.sentiment_label == "negative" and complaint.intent == "complaint"
    assert praise is not None and praise.sentiment_label == "positive" and praise.intent == "praise"
    assert complaint.priority > praise.priority
    assert pipeline.process_pending() == []  # nothing classified twice


class CountingModel:
    """Stands in for the model to count which texts each worker was given."""

    def __init__(self) -> None:
        self.seen: Counter[str] = Counter()
        self.lock = threading.Lock()

    def classify(self, texts: list[str], langs: list[str | None], batch_size: int = 64,
                 expected_languages: frozenset[str] = frozenset()) -> list[Prediction]:
        with self.lock:
            self.seen.update(texts)
        return [Prediction("negative", 0.9, {"negative": 0.9, "neutral": 0.05, "positive": 0.05}, lang or "en")
                for lang in langs]


def test_concurrent_classify_workers_take_different_rows(db: Database) -> None:
    with db.write() as session:
        session.add_all(Mention(platform="sample", external_id=str(n), text=f"text {n}", created_at=T0, raw={})
                        for n in range(600))
    model = CountingModel()
    workers = [MentionClassifier(model, TriageRules()) for _ in range(3)]
    done: list[list[int]] = []
    threads = [threading.Thread(target=lambda w=w: done.append(w.classify_pending(db, batch_size=16))) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(i for ids in done for i in ids) == sorted(set(i for ids in done for i in ids))
    assert sum(len(ids) for ids in done) == 600
    if not db.is_sqlite:  # SQLite runs one worker; PostgreSQL workers each claim their own batches
        assert set(model.seen.values()) == {1}
    with db.read() as session:
        assert session.scalar(select(func.count()).where(Mention.classified_at.is_(None))) == 0


def test_a_watching_classify_worker_keeps_classifying_until_sigterm(tmp_path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    import tomli_w

    url = f"sqlite:///{tmp_path / 'watch.db'}"
    config_path = tmp_path / "mentiondesk.toml"
    config_path.write_text(tomli_w.dumps({"database": {"url": url}, "brands": [{"name": "Acme", "keywords": ["acme"]}],
                                          "connectors": {"sample": {"total_per_query": 6}}}))
    config = Config.load(config_path)
    db = Database.open(url)
    db.upgrade()

    def unclassified() -> int:
        with db.read() as session:
            return session.scalar(select(func.count()).where(Mention.classified_at.is_(None))) or 0

    def wait_for_none_left() -> None:
        deadline = time.monotonic() + 120
        while unclassified() and time.monotonic() < deadline:
            time.sleep(0.3)
        assert unclassified() == 0

    poll_once(db, config)
    assert unclassified() == 6
    worker = subprocess.Popen([sys.executable, "-m", "monitor", "--config", str(config_path), "classify-pending",
                               "--watch", "0.5"], env=dict(os.environ), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)
    try:
        wait_for_none_left()
        more = Config.from_dict({"database": {"url": url}, "brands": [{"name": "Globex", "keywords": ["globex"]}],
                                 "connectors": {"sample": {"total_per_query": 4}}}, env={})
        poll_once(db, more)  # mentions that arrive later are picked up without a restart
        wait_for_none_left()
        assert worker.poll() is None, "still running"
    finally:
        worker.send_signal(signal.SIGTERM)
        out, err = worker.communicate(timeout=60)
    assert worker.returncode == 0, err
    assert out.strip().endswith("classified 10 mention(s); stopped")
    db.dispose()


def test_expected_languages_reach_language_detection(sqlite_db: Database) -> None:
    def config(expected: list[str]) -> Config:
        return Config.from_dict({"brands": [{"name": "Acme", "keywords": ["acme"]}],
                                 "connectors": {"sample": {}}, "sentiment": {"expected_languages": expected}},
                                env={})

    with sqlite_db.write() as session:
        session.add(Mention(platform="sample", external_id="1", text="Mon colis est en retard", created_at=T0, raw={}))
    with pytest.raises(SettingError, match="'francais'"):
        Pipeline.from_config(sqlite_db, config(["en", "francais"]))
    assert Pipeline.from_config(sqlite_db, config(["en", "fr", "es"])).process_pending() != []
    with sqlite_db.read() as session:
        assert session.scalars(select(Mention.lang)).one() == "fr"   # too short to name among all languages
