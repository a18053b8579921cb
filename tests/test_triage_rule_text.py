"""The intent rules read the text as the model does: links masked whatever the case of their scheme, and
NFKC-normalised, as the model's tokenizer reads it (decomposed accents, full-width letters)."""
from __future__ import annotations

import unicodedata

import pytest

from sentiment.api import Prediction
from sentiment.text import normalise_tweet
from sentiment.triage import DEFAULT_RULES, TriageRules, _folded, intent_of

NEU = Prediction("neutral", 0.6, {"negative": 0.2, "neutral": 0.6, "positive": 0.2}, "en")


@pytest.mark.parametrize("text", ["thanks, see HTTPS://acme.com/help?id=3", "new menu is up: Www.acme.com/menu?lang=en",
                                  "new blog post Https://acme.com/blog/refund-policy-update",
                                  "WWW.ACME.COM/why?not"])
def test_a_link_in_capitals_is_masked_and_its_question_mark_or_refund_counts_for_nothing(text: str) -> None:
    assert "acme" not in normalise_tweet(text).lower()
    assert intent_of(text, NEU) == "other"


@pytest.mark.parametrize("text", [unicodedata.normalize("NFD", "o app não funciona desde ontem"),
                                  "app ｎｏｔ ｗｏｒｋｉｎｇ since update", "my ｒｅｆｕｎｄ please",
                                  "ＮＯＴ ＷＯＲＫＩＮＧ again"])
def test_decomposed_or_full_width_complaints_are_complaints(text: str) -> None:
    assert intent_of(text, NEU) == "complaint"


def test_full_width_or_decomposed_question_words_ask() -> None:
    assert intent_of("ｗｈｙ is my order late", NEU) == "question"
    assert intent_of(unicodedata.normalize("NFD", "@acme cuándo abren"), NEU) == "question"


def test_configured_keywords_are_read_alike_in_any_form() -> None:
    rules = TriageRules.from_dict({"complaint_keywords": [unicodedata.normalize("NFD", "Não chegou"), "ｌａｔｅ"]})
    assert rules.complaint_keywords == ("não chegou", "late")
    assert intent_of("o pedido não chegou", NEU, rules) == "complaint"
    assert intent_of("delivery is LATE", NEU, rules) == "complaint"


def test_the_built_in_rules_are_as_the_text_is_folded() -> None:
    # The text is NFKC-folded; a built-in phrase that is not would never match.
    for name in ("question_phrases", "question_words_anywhere", "greetings", "complaint_keywords"):
        assert [p for p in getattr(DEFAULT_RULES, name) if _folded(p) != p] == [], name
