"""A mention the model read as neutral, which a person relabels negative or a complaint, joins the incident
about its problem: classify embedded only what the model read as a candidate, so it had no embedding and
detection never grouped it. The classify worker's detection embeds it; one with no model says it left it out."""

from __future__ import annotations

import logging
from datetime import timedelta

import numpy as np
import pytest
from sqlalchemy import select

import sentiment
from monitor import triage
from monitor.access import Principal, Role
from monitor.config import Config
from monitor.incidents import IncidentDetector, IncidentSettings, incident_mentions
from monitor.models import Brand, Incident, Mention, MentionEmbedding, utcnow
from monitor.pipeline import Pipeline
from monitor.storage import Database
from sentiment.api import Prediction
from sentiment.triage import TriageRules
from tests.fault_tools import url_of

MISREAD = "so that thing happened again today, whatever"


class ComplaintModel:
    """A stand-in model: posts saying "logs me out" are negative, others neutral; embeddings close to one
    problem for the logout posts and for MISREAD (which says the same in other words)."""

    def __init__(self) -> None:
        rng = np.random.default_rng(1)
        self.topic, self.rng = rng.normal(size=384), rng
        self.embedded: list[str] = []

    def classify(self, texts: list[str], langs: list[str | None], batch_size: int = 64,
                 expected_languages: frozenset[str] = frozenset()) -> list[Prediction]:
        labels = ["negative" if "logs me out" in text else "neutral" for text in texts]
        return [Prediction(label, 0.9, {"negative": 0.05, "neutral": 0.05, "positive": 0.05, label: 0.9}, lang or "en")
                for label, lang in zip(labels, langs)]

    def embed(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        self.embedded += texts
        rows = np.stack([self.topic + 0.6 * self.rng.normal(size=384) / np.sqrt(384) if text == MISREAD or
                         "logs me out" in text else self.rng.normal(size=384) for text in texts])
        return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def _add(db: Database, brand_id: int, texts: list[str], minutes_ago: list[int]) -> list[int]:
    now = utcnow()
    with db.write() as session:
        first = len(session.scalars(select(Mention.id)).all())
        rows = [Mention(brand_id=brand_id, platform="x", external_id=f"p{first + n}", text=text, lang="en",
                        created_at=now - timedelta(minutes=ago), author_handle=f"author{first + n}",
                        author_followers=100, replyable=True, raw={})
                for n, (text, ago) in enumerate(zip(texts, minutes_ago))]
        session.add_all(rows)
        session.flush()
        return [m.id for m in rows]


def _setup(db: Database) -> tuple[int, int]:
    with db.write() as session:
        brand = Brand(key="orbisto", name="Orbisto")
        session.add(brand)
        session.flush()
        brand_id = brand.id
    _add(db, brand_id, [f"the app logs me out, attempt {n}" for n in range(6)], [60 - 5 * n for n in range(6)])
    [misread] = _add(db, brand_id, [MISREAD], [20])
    return brand_id, misread


def test_the_workers_detection_groups_a_mention_relabelled_a_complaint(db: Database,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    brand_id, misread = _setup(db)
    model = ComplaintModel()
    monkeypatch.setattr(sentiment, "load_classifier", lambda *args, **kwargs: model)
    config = Config.from_dict({"database": {"url": url_of(db)}, "connectors": {"sample": {}},
                               "brands": [{"name": "Orbisto", "keywords": ["orbisto"]}]}, env={})
    pipeline = Pipeline.from_config(db, config)
    pipeline.process_pending()
    with db.read() as session:
        [incident] = session.scalars(select(Incident.id)).all()
        assert session.get(MentionEmbedding, misread) is None  # read as neutral: not embedded by classify

    triage.relabel(db, [misread], Principal("ana", Role.AGENT), sentiment="negative", intent="complaint",
                   rules=TriageRules())
    _add(db, brand_id, ["lovely weather"], [1])  # the worker's next read, after which detection runs
    pipeline.process_pending()

    assert misread in [m.id for m in incident_mentions(db, incident)]
    assert model.embedded.count(MISREAD) == 1


def test_detection_without_the_model_says_how_many_candidates_it_left_out(
        db: Database, caplog: pytest.LogCaptureFixture) -> None:
    _, misread = _setup(db)
    with db.write() as session:
        for mention in session.scalars(select(Mention)):
            mention.sentiment_label, mention.intent, mention.classified_at = "neutral", "other", utcnow()
    triage.relabel(db, [misread], Principal("ana", Role.AGENT), sentiment="negative", rules=TriageRules())

    with caplog.at_level(logging.WARNING, logger="mentiondesk.incidents"):
        IncidentDetector(db, IncidentSettings()).run()  # as `mentiondesk incidents detect` runs it: no model

    assert "1 incident candidate(s)" in caplog.text and "no embedding" in caplog.text
