"""A mention a person relabels complaint weighs at least what its text would as a question, as a complaint the model
reads does: with `intent_weights = { question = 20, complaint = 15 }`, "where is my order?" ranked 80 as the model's
complaint and, until 2026-12-07, 75 once a person agreed it was one."""
from __future__ import annotations

import pytest

from sentiment.api import Prediction
from sentiment.triage import TriageRules, triage

RULES = TriageRules.from_dict({"intent_weights": {"question": 20, "complaint": 15}})
NEGATIVE = Prediction("negative", 1.0, {"negative": 1.0, "neutral": 0.0, "positive": 0.0}, "en")
NEUTRAL = Prediction("neutral", 0.9, {"negative": 0.05, "neutral": 0.9, "positive": 0.05}, "en")


def priority(prediction: Prediction, **human: str) -> float:
    return triage("where is my order?", prediction, follower_count=None, replyable=True, age_seconds=0,
                  rules=RULES, **human).priority


def test_a_person_s_complaint_ranks_as_the_model_s_does() -> None:
    models = priority(NEGATIVE)
    assert priority(NEUTRAL, human_label="negative", human_intent="complaint") == models
    assert priority(NEGATIVE, human_intent="complaint") == models


def test_a_person_s_other_intent_takes_its_own_weight() -> None:
    assert priority(NEGATIVE, human_intent="other") == pytest.approx(priority(NEGATIVE) - 20)
