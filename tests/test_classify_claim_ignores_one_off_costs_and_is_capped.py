"""A worker claimed its next read for three times its last read's time per mention, whatever that read's size: a
first read of one mention that paid the one-off costs (py3langid and the embedder loading) claimed the next 512
for ~44 min, so had that worker died on another host, they waited that long unclassified. Only reads of a model
batch or more set the rate, and a claim lasts at most 10 times claim_seconds (CLAIM_LIMIT)."""

from __future__ import annotations

import time

from sqlalchemy import func, select

from monitor.classify import MentionClassifier
from monitor.models import Mention, utcnow
from monitor.storage import Database
from sentiment.api import Prediction
from sentiment.triage import TriageRules
from tests.connector_doubles import T0
from tests.fault_tools import add_unclassified


class TimedModel:
    """Takes `first_call_seconds` once (one-off costs) and `seconds_per_text` a text, notes how long the claim on
    each read it is given has left to run, and while reading the first, sees `arriving` more mentions stored."""

    def __init__(self, db: Database, *, first_call_seconds: float = 0.0, seconds_per_text: float = 0.0,
                 arriving: int = 0) -> None:
        self.db = db
        self.first_call_seconds = first_call_seconds
        self.seconds_per_text = seconds_per_text
        self.arriving = arriving
        self.claims_left: list[float] = []

    def classify(self, texts: list[str], langs: list[str | None], batch_size: int = 64,
                 expected_languages: frozenset[str] = frozenset()) -> list[Prediction]:
        with self.db.read() as session:
            until = session.scalar(select(func.max(Mention.classify_claimed_until)))
        self.claims_left.append((until - utcnow()).total_seconds())
        if len(self.claims_left) == 1:
            time.sleep(self.first_call_seconds)
            with self.db.write() as session:
                session.add_all(Mention(platform="sample", external_id=f"later {n}", text=f"later {n}", created_at=T0,
                                        raw={}) for n in range(self.arriving))
        time.sleep(self.seconds_per_text * len(texts))
        return [Prediction("neutral", 0.9, {"negative": 0.05, "neutral": 0.9, "positive": 0.05}, lang or "en")
                for lang in langs]


def test_a_small_first_reads_one_off_costs_do_not_lengthen_the_next_claim(db: Database) -> None:
    add_unclassified(db, 1)
    model = TimedModel(db, first_call_seconds=0.5, arriving=40)
    assert len(MentionClassifier(model, TriageRules()).classify_pending(db, batch_size=4, claim_seconds=1.0)) == 41
    # Reads of up to 32: the one mention's 0.5 s made the next read's claim 3 * 0.5 * 32 = 48 s.
    first, second, *_ = model.claims_left
    assert first <= 1.0 and second <= 1.0, model.claims_left


def test_a_claim_lasts_at_most_its_limit_however_slow_the_reads(db: Database) -> None:
    add_unclassified(db, 16)
    model = TimedModel(db, seconds_per_text=0.1)
    claim_seconds = 0.1
    assert len(MentionClassifier(model, TriageRules()).classify_pending(db, batch_size=1,
                                                                        claim_seconds=claim_seconds)) == 16
    # Reads of 8 taking 0.8 s: the second is claimed for longer than claim_seconds, but not for 3 * 0.8 = 2.4 s.
    first, second = model.claims_left
    assert first <= claim_seconds and 0.5 < second <= 10 * claim_seconds, model.claims_left
