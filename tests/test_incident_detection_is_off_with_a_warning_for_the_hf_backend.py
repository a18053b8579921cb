"""With ``[sentiment] backend = "hf"`` incidents were never detected, unsaid: only the default model computes
the embeddings detection groups by. The worker now says so once, at start, and runs no detection."""

from __future__ import annotations

import logging

import pytest

import sentiment
from monitor.config import Config
from monitor.pipeline import Pipeline
from monitor.storage import Database
from sentiment.api import Prediction
from tests.fault_tools import add_unclassified, url_of


class ModelWithoutEmbeddings:
    """A stand-in for the hf backend's classifier: it classifies (everything negative), it embeds nothing."""

    def classify(self, texts: list[str], langs: list[str | None], batch_size: int = 64,
                 expected_languages: frozenset[str] = frozenset()) -> list[Prediction]:
        return [Prediction("negative", 0.9, {"negative": 0.9, "neutral": 0.05, "positive": 0.05}, lang or "en")
                for lang in langs]


def test_the_hf_backend_worker_warns_once_that_incident_detection_is_off(
        sqlite_db: Database, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(sentiment, "load_classifier", lambda *args, **kwargs: ModelWithoutEmbeddings())
    config = Config.from_dict({"database": {"url": url_of(sqlite_db)}, "connectors": {"sample": {}},
                               "brands": [{"name": "Orbisto", "keywords": ["orbisto"]}],
                               "sentiment": {"backend": "hf", "model": "example/sentiment-model"}}, env={})
    add_unclassified(sqlite_db, 3)

    with caplog.at_level(logging.WARNING):
        pipeline = Pipeline.from_config(sqlite_db, config)
        assert len(pipeline.process_pending()) == 3
        pipeline.process_pending()

    warnings = [r.getMessage() for r in caplog.records if "incident detection is off" in r.getMessage()]
    assert len(warnings) == 1 and 'backend = "default"' in warnings[0]
    assert pipeline.incidents is None
