"""New mentions get sentiment, intent and priority in batches; workers never classify a row twice."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterable
from datetime import datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, update
from sqlalchemy.exc import OperationalError

from monitor.alerts.engine import AlertEngine
from monitor.alerts.models import AlertEvent
from monitor.alerts.settings import AlertSettings, Target, TargetSettings
from monitor.classify import MentionClassifier
from monitor.cli import cli
from monitor.config import Config
from monitor.models import Brand, Mention, utcnow
from monitor.pipeline import Pipeline
from monitor.poller import poll_once
from monitor.storage import Database
from monitor.triage import add_note, assign, set_status
from sentiment.api import Prediction
from sentiment.errors import SettingError
from sentiment.triage import TriageRules
from tests.connector_doubles import T0
from tests.fault_tools import add_unclassified, url_of
from tests.principals import ANA


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
    add_unclassified(db, 600)
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
    assert set(model.seen.values()) == {1}  # each worker claimed its own reads: no text ran twice
    with db.read() as session:
        assert session.scalar(select(func.count()).where(Mention.classified_at.is_(None))) == 0


class GatedModel(CountingModel):
    """Holds each call until the test opens the gate: the worker is then mid-model, for as long as needed."""

    def __init__(self) -> None:
        super().__init__()
        self.running = threading.Event()
        self.gate = threading.Event()

    def classify(self, texts: list[str], langs: list[str | None], batch_size: int = 64,
                 expected_languages: frozenset[str] = frozenset()) -> list[Prediction]:
        self.running.set()
        assert self.gate.wait(30), "the test never opened the gate"
        return super().classify(texts, langs, batch_size, expected_languages)


def test_a_worker_whose_claim_ran_out_leaves_the_mentions_to_the_worker_that_took_them(db: Database) -> None:
    """A claim that ran out (a model slower than `claim_seconds`) lets another worker take the same
    read: the first worker's model work is wasted, but its later write is skipped."""
    add_unclassified(db, 5)
    slow = GatedModel()
    slow_stored: list[list[int]] = []
    first = threading.Thread(target=lambda: slow_stored.append(
        MentionClassifier(slow, TriageRules()).classify_pending(db, claim_seconds=0)))
    first.start()
    try:
        assert slow.running.wait(30)
        second = CountingModel()
        assert MentionClassifier(second, TriageRules()).classify_pending(db) == [1, 2, 3, 4, 5]
    finally:
        slow.gate.set()
        first.join(30)
    assert slow_stored == [[]] and slow.seen == second.seen


def test_claims_of_a_worker_that_ended_on_this_host_are_taken_at_once_other_claims_hold(db: Database) -> None:
    add_unclassified(db, 4)
    host = socket.gethostname()
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                           check=True)
    owners = {1: f"{host}:{int(ended.stdout)}:aaaaaa",  # killed, then this worker started in its place
              2: f"other-{host}:{os.getpid()}:bbbbbb",  # a worker on another host: may still be running
              3: f"{host}:{os.getpid()}:cccccc"}  # a worker in a process that still runs here
    with db.write() as session:
        for mention_id, owner in owners.items():
            session.execute(update(Mention).where(Mention.id == mention_id).values(
                classify_claimed_by=owner, classify_claimed_until=utcnow() + timedelta(minutes=2)))
    assert MentionClassifier(CountingModel(), TriageRules()).classify_pending(db) == [1, 4]


def test_an_agents_change_to_a_mention_being_classified_does_not_wait_for_the_model(db: Database) -> None:
    add_unclassified(db, 3, "@acme order {n} is late")
    model = GatedModel()
    done: list[list[int]] = []
    worker = threading.Thread(target=lambda: done.append(MentionClassifier(model, TriageRules()).classify_pending(db)))
    worker.start()
    agents_db = _failing_on_lock_waits(db)
    try:
        assert model.running.wait(30)
        set_status(agents_db, [1], "open", ANA)
        assign(agents_db, [1], "ana", ANA)
        add_note(agents_db, 1, "calling them back", ANA)
    finally:
        model.gate.set()
        worker.join(30)
        if agents_db is not db:
            agents_db.dispose()
    assert done == [[1, 2, 3]]
    with db.read() as session:
        mention = session.get_one(Mention, 1)
        # The worker's write keeps the agent's changes, and the agent's keep the model's output.
        assert (mention.status, mention.assignee) == ("open", "ana")
        assert [n.body for n in mention.notes] == ["calling them back"]
        assert mention.sentiment_label == "negative" and mention.classified_at is not None


def _failing_on_lock_waits(db: Database) -> Database:
    """The same database where, on PostgreSQL, a write that waits 2 s for a row lock fails (rather
    than hang the test until the worker is done)."""
    if db.is_sqlite:
        return db
    url = db.engine.url
    options = f"{url.query.get('options', '')} -clock_timeout=2000".strip()
    return Database.open(url.update_query_dict({"options": options}).render_as_string(hide_password=False))


def test_status_counts_the_mentions_a_worker_is_classifying_now(db: Database, tmp_path) -> None:
    add_unclassified(db, 5)
    config = tmp_path / "mentiondesk.toml"
    config.write_text(f'[database]\nurl = "{url_of(db)}"\n[[brands]]\nname = "Acme"\nkeywords = ["acme"]\n'
                      '[sentiment]\nbackend = "none"\n[connectors.sample]\n')
    model = GatedModel()
    worker = threading.Thread(target=lambda: MentionClassifier(model, TriageRules()).classify_pending(db, batch_size=1))
    worker.start()
    try:
        assert model.running.wait(30)
        during = CliRunner().invoke(cli, ["--config", str(config), "status"])
    finally:
        model.gate.set()
        worker.join(30)
    after = CliRunner().invoke(cli, ["--config", str(config), "status"])
    assert during.exit_code == 0, during.output
    # A read is 8 batches, so the worker claimed all five.
    assert "mentions: 5 total, 5 not yet classified (5 being classified now)\n" in during.output
    assert "mentions: 5 total, 0 not yet classified\n" in after.output


class RecordsItsClaim(CountingModel):
    """Takes 0.05 s a text, and notes how long the claim on the read it is given has left to run."""

    def __init__(self, db: Database) -> None:
        super().__init__()
        self.db = db
        self.claims_left: list[float] = []

    def classify(self, texts: list[str], langs: list[str | None], batch_size: int = 64,
                 expected_languages: frozenset[str] = frozenset()) -> list[Prediction]:
        with self.db.read() as session:
            until = session.scalar(select(func.max(Mention.classify_claimed_until)))
        self.claims_left.append((until - utcnow()).total_seconds())
        time.sleep(0.05 * len(texts))
        return super().classify(texts, langs, batch_size, expected_languages)


def test_a_worker_whose_reads_take_long_claims_for_longer(db: Database) -> None:
    add_unclassified(db, 16)
    model = RecordsItsClaim(db)
    classifier = MentionClassifier(model, TriageRules())
    assert len(classifier.classify_pending(db, batch_size=1, claim_seconds=0.5)) == 16
    # Reads of 8: the first claimed for the 0.5 s asked; the second for three times the first's 0.4 s.
    first, second = model.claims_left
    assert first <= 0.5 and second >= 1.0, model.claims_left


class FailingModel:
    def classify(self, texts: list[str], langs: list[str | None], batch_size: int = 64,
                 expected_languages: frozenset[str] = frozenset()) -> list[Prediction]:
        raise RuntimeError("model crashed")


def test_a_worker_whose_model_fails_leaves_its_mentions_to_the_next_at_once(db: Database) -> None:
    add_unclassified(db, 5)
    with pytest.raises(RuntimeError, match="model crashed"):
        MentionClassifier(FailingModel(), TriageRules()).classify_pending(db)
    assert len(MentionClassifier(CountingModel(), TriageRules()).classify_pending(db)) == 5


def test_a_watching_classify_worker_keeps_classifying_until_sigterm(tmp_path) -> None:
    import os
    import signal
    import subprocess
    import sys

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


class CrashesAfter(CountingModel):
    """Answers the first `reads`, then crashes (out of memory, say)."""

    def __init__(self, reads: int) -> None:
        super().__init__()
        self.reads_left = reads

    def classify(self, texts: list[str], langs: list[str | None], batch_size: int = 64,
                 expected_languages: frozenset[str] = frozenset()) -> list[Prediction]:
        if not self.reads_left:
            raise RuntimeError("model crashed")
        self.reads_left -= 1
        return super().classify(texts, langs, batch_size, expected_languages)


class OutboxEngine(AlertEngine):
    """Alerts for one target, never sent (the tests read the outbox); the first `failing` alert steps
    fail after their mentions were classified (the database away a moment)."""

    def __init__(self, db: Database, failing: int = 0) -> None:
        super().__init__(db, AlertSettings(), [Target(TargetSettings(name="care"), "json://127.0.0.1:9/alerts")])
        self.failing = failing

    def on_new_mentions(self, ids: Iterable[int], now: datetime | None = None) -> int:
        if self.failing:
            self.failing -= 1
            raise OperationalError("INSERT INTO alert_events …", {}, Exception("database is locked"))
        return super().on_new_mentions(ids, now)


def _urgent_unclassified(db: Database, count: int) -> list[int]:
    with db.write() as session:
        brand = Brand(key="acme", name="Acme")
        session.add(brand)
        session.flush()
        rows = [Mention(brand_id=brand.id, platform="sample", external_id=f"u{n}", text=f"I want a refund {n}",
                        created_at=utcnow(), raw={}) for n in range(count)]
        session.add_all(rows)
        session.flush()
        return [m.id for m in rows]


def _alerted(db: Database) -> list[int]:
    """Every mention in an urgent alert, as often as it is in one."""
    with db.read() as session:
        return sorted(i for e in session.scalars(select(AlertEvent).where(AlertEvent.rule == "urgent"))
                      for i in e.mention_ids)


def test_a_reads_urgent_mentions_are_alerted_even_when_a_later_read_fails(db: Database) -> None:
    # Ids reached the alert engine only after the last read: a later read failing lost the alerts of
    # every read already classified, and nothing picked them up again.
    urgent = _urgent_unclassified(db, 9)
    pipeline = Pipeline(db, MentionClassifier(CrashesAfter(reads=1), TriageRules()), OutboxEngine(db),
                        batch_size=1)  # reads of BATCHES_PER_READ = 8
    with pytest.raises(RuntimeError, match="model crashed"):
        pipeline.process_pending()
    assert _alerted(db) == urgent[:8]


def test_mentions_classified_while_alerting_failed_are_alerted_by_the_next_tick_once(db: Database) -> None:
    urgent = _urgent_unclassified(db, 3)
    pipeline = Pipeline(db, MentionClassifier(CountingModel(), TriageRules()), OutboxEngine(db, failing=1))
    with pytest.raises(OperationalError):
        pipeline.process_pending(urgent)
    assert _alerted(db) == [] and pipeline.process_pending() == [], "classified, waiting for their alert"
    pipeline.tick()
    assert _alerted(db) == urgent
    pipeline.tick()
    pipeline.process_pending(urgent)  # a poll reporting them again
    assert _alerted(db) == urgent, "each alerted once"
