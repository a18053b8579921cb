"""The triage rules mask a link, but not the punctuation typed right after it, as X ends a link before it: a "?"
after a link asks, a "." or "!" after one ends the sentence, so the question word after it starts a new one. A "?"
inside a link (before its query) still counts for nothing, and the model still reads the whole link as "http"."""
from __future__ import annotations

import pytest

from sentiment.api import Prediction
from sentiment.text import normalise_tweet
from sentiment.triage import intent_of, triage

NEU = Prediction("neutral", 0.8, {"negative": 0.1, "neutral": 0.8, "positive": 0.1}, "en")


@pytest.mark.parametrize("text", [
    "Is this your official support page https://acme-help.support/login?",
    'Is this your official support page ("https://acme-help.support/login")?',
    "Tracking says delivered https://acme.com/track/123. Where is it",
    "Ordered on https://acme.com! Why is it still not shipped",
    "Ordered on www.acme.com/shop... why is it still not shipped",
    "这是你们的官网吗 https://acme.cn/login？",
])
def test_punctuation_after_a_link_makes_the_mention_a_question_that_needs_a_reply(text: str) -> None:
    result = triage(text, NEU, follower_count=100, replyable=True, age_seconds=0)
    assert (result.intent, result.needs_response) == ("question", True)


@pytest.mark.parametrize("text", [
    "Order details https://acme.com/order?id=7 arrived",
    "Order details at https://acme.com/order?id=7.",
    "Your status page https://status.acme.com/?who=all looks fine",
])
def test_a_question_mark_inside_a_link_counts_for_nothing(text: str) -> None:
    assert intent_of(text, NEU) == "other"


def test_the_model_still_reads_the_link_and_its_punctuation_as_http() -> None:
    text = "Is this your page https://acme-help.support/login? Thanks"
    assert normalise_tweet(text) == "Is this your page http Thanks"
