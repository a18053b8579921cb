"""English questions opening with "how" ("How long…", "How much…", "Hi, how does…") ask, as their translations
opening with cómo, comment or wie do; they once were intent other and needed no response."""
from __future__ import annotations

import pytest

from sentiment.api import Prediction
from sentiment.triage import triage

NEU = Prediction("neutral", 0.8, {"negative": 0.1, "neutral": 0.8, "positive": 0.1}, "en")
POS = Prediction("positive", 0.9, {"negative": 0.05, "neutral": 0.05, "positive": 0.9}, "en")


def triaged(text: str, prediction: Prediction = NEU):
    return triage(text, prediction, follower_count=100, replyable=True, age_seconds=60)


@pytest.mark.parametrize("text", [
    "@acme how long does delivery to Canada take", "How much is the premium plan", "How many days for a return",
    "Hi, how does the warranty work", "Thanks. How is my order still not shipped", "HOW OFTEN is the stock updated",
])
def test_a_sentence_opening_with_how_asks(text: str) -> None:
    result = triaged(text)
    assert (result.intent, result.needs_response) == ("question", True)


@pytest.mark.parametrize("text", [
    "How nice is this!!", "How nice!", "How cool is the new app! Love it", "@acme 😍 how fast was that!",
    "I love how fast @acme ships", "Showing everyone how well it works",  # "how" opening no sentence
])
def test_how_exclaiming_or_inside_a_sentence_asks_nothing(text: str) -> None:
    assert triaged(text, POS).intent == "praise"
