"""A configured one-word question phrase opens a sentence after the full stop of the text's own script: Japanese
and Chinese "。", Hindi's "।" and Urdu's "۔" end a sentence as "." does. Until 2026-12-07 only ".", "!", ";" and a
line break did, so "届きました。なぜ…" (a team that added なぜ, "why") or "ठीक है। क्या…" (Hindi) never asked."""
from __future__ import annotations

import pytest

from sentiment.api import Prediction
from sentiment.triage import TriageRules, triage

NEU = Prediction("neutral", 0.8, {"negative": 0.1, "neutral": 0.8, "positive": 0.1}, "ja")
RULES = TriageRules.from_dict({"question_phrases": ["なぜ", "为什么", "क्या", "کیا", "why"]})


def intent(text: str) -> str:
    return triage(text, NEU, follower_count=10, replyable=True, age_seconds=60, rules=RULES).intent


@pytest.mark.parametrize("text", [
    "荷物が届きました。なぜ箱が濡れているの",  # Japanese: "It arrived. Why is the box wet"
    "收到了。为什么没有发票",  # Chinese: "Got it. Why is there no invoice"
    "ठीक है। क्या ऑर्डर आज आएगा",  # Hindi: "OK. Will the order come today"
    "آرڈر مل گیا۔ کیا بل بھی آئے گا",  # Urdu: "Got the order. Will the bill come too"
])
def test_a_question_word_opening_the_next_sentence_asks(text: str) -> None:
    assert intent(text) == "question"


@pytest.mark.parametrize("text", [
    "荷物が届きました。ありがとう",
    "ठीक है। धन्यवाद",
])
def test_a_sentence_with_no_question_word_after_the_stop_asks_nothing(text: str) -> None:
    assert intent(text) == "other"
