"""The model reads every @handle as "@user" and every link as "http"; the triage rules read neither, so a
configured keyword "user" or "http*" no longer makes every mention with a handle or link a complaint."""
from __future__ import annotations

from sentiment.api import Prediction
from sentiment.text import normalise_tweet
from sentiment.triage import TriageRules, intent_of

NEU = Prediction("neutral", 0.7, {"negative": 0.2, "neutral": 0.7, "positive": 0.1}, "en")


def test_a_handle_or_link_is_no_keyword() -> None:
    rules = TriageRules.from_dict({"complaint_keywords": ["user", "http*", "thanks user"]})
    assert intent_of("@acme thanks, got it", NEU, rules) == "other"
    assert intent_of("thanks @acme", NEU, rules) == "other"
    assert intent_of("thanks, see https://example.com/order", NEU, rules) == "other"
    assert intent_of("our user can't log in", NEU, rules) == "complaint"   # the word itself still counts
    assert intent_of("http errors all day", NEU, rules) == "complaint"


def test_a_handle_is_no_question_word() -> None:
    rules = TriageRules.from_dict({"question_words_anywhere": ["user"], "question_phrases": ["http"]})
    assert intent_of("@acme great service", NEU, rules) == "other"
    assert intent_of("https://acme.com great service", NEU, rules) == "other"


def test_a_question_after_a_handle_still_asks() -> None:
    assert intent_of("@acme.bsky.social, why is my order late", NEU) == "question"


def test_the_text_the_model_reads_keeps_its_placeholders() -> None:
    assert normalise_tweet("@acme see https://x.co/a?b\nor www.acme.com") == "@user see http or http"
