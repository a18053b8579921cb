"""Priority never falls as P(negative) rises: with the README's `intent_weights = { question = 20 }` a question the
model called negative became a complaint (weight 15) and ranked below the same question called less negative."""
from __future__ import annotations

import pytest

from sentiment.api import Prediction
from sentiment.triage import DEFAULT_RULES, TriageRules, triage

README_RULES = TriageRules.from_dict({"reach_weight": 35, "complaint_keywords": ["refund*", "late", "broken"],
                                      "intent_weights": {"question": 20}})


def prediction(negative: float) -> Prediction:
    neutral = (1.0 - negative) * 0.8
    scores = {"negative": negative, "neutral": neutral, "positive": 1.0 - negative - neutral}
    label = max(scores, key=scores.__getitem__)
    return Prediction(label, scores[label], scores, "en")


def priorities(text: str, rules: TriageRules) -> list[tuple[float, str]]:
    results = [triage(text, prediction(step / 100), follower_count=200, replyable=True, age_seconds=600, rules=rules)
               for step in range(20, 100, 2)]
    return [(r.priority, r.intent) for r in results]


@pytest.mark.parametrize("rules", [README_RULES, DEFAULT_RULES], ids=["question-20", "defaults"])
@pytest.mark.parametrize("text", ["@acme why is my parcel stuck in customs", "is there a refund for a late parcel",
                                  "my parcel is stuck in customs"])
def test_priority_rises_with_the_probability_of_negative(rules: TriageRules, text: str) -> None:
    ranked = priorities(text, rules)
    assert [p for p, _ in ranked] == sorted(p for p, _ in ranked), ranked


def test_a_negative_question_weighs_as_a_question_and_is_still_a_complaint() -> None:
    calm, angry = (triage("@acme why is my parcel stuck in customs", prediction(negative), follower_count=200,
                          replyable=True, age_seconds=600, rules=README_RULES) for negative in (0.48, 0.52))
    assert (calm.intent, angry.intent) == ("question", "complaint")
    assert round(angry.priority - calm.priority, 2) == round(0.04 * 40, 2)  # only the negative weight moves it
    # A complaint that asks nothing keeps the complaint weight.
    other, complaint = (triage("my parcel is stuck in customs", prediction(negative), follower_count=200,
                               replyable=True, age_seconds=600, rules=README_RULES) for negative in (0.48, 0.52))
    assert (other.intent, complaint.intent) == ("other", "complaint")
    assert round(complaint.priority - other.priority, 2) == round(0.04 * 40 + 15, 2)
