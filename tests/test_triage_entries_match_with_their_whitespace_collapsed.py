"""A [triage] entry with two spaces, a tab or a line break between its words matches the text, whose runs of
whitespace are one space, as the same entry with one space does (it once matched nothing)."""
from __future__ import annotations

from sentiment.api import Prediction
from sentiment.triage import TriageRules, intent_of

NEU = Prediction("neutral", 0.7, {"negative": 0.2, "neutral": 0.7, "positive": 0.1}, "en")


def test_entries_are_stored_with_one_space_between_words() -> None:
    rules = TriageRules.from_dict({"complaint_keywords": ["not  working", " double\tcharge* ", "still\nwaiting"]})
    assert rules.complaint_keywords == ("not working", "double charge*", "still waiting")


def test_an_entry_with_a_run_of_whitespace_matches() -> None:
    rules = TriageRules.from_dict({"complaint_keywords": ["not  working", "double\tcharge*"],
                                   "question_phrases": ["is\tthere"]})
    assert intent_of("the app is not working", NEU, rules) == "complaint"
    assert intent_of("I was double   charged", NEU, rules) == "complaint"
    assert intent_of("is there a fix for this", NEU, rules) == "question"
    assert intent_of("so is there a fix for this", NEU, rules) == "question"  # several words: anywhere
