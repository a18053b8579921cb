"""A one-word question phrase counts after any run of greetings ("Hola, buenas tardes, cuándo…"), not only after one:
two greetings once hid the question (intent other, needs_response False)."""
from __future__ import annotations

import pytest

from sentiment.api import Prediction
from sentiment.errors import TriageConfigError
from sentiment.triage import TriageRules, triage

NEU = Prediction("neutral", 0.8, {"negative": 0.1, "neutral": 0.8, "positive": 0.1}, "es")


def triaged(text: str, rules: TriageRules | None = None):
    extra = {"rules": rules} if rules else {}
    return triage(text, NEU, follower_count=50, replyable=True, age_seconds=60, **extra)


@pytest.mark.parametrize("text", [
    "Hola, buenas tardes, cuándo llega mi pedido",
    "Olá, bom dia, quando chega meu pedido",
    "@acme hola buenas, dónde puedo ver mi factura",
    "Hey hi, why is my card declined",
    "hi there, good morning @acme 👋 which plan includes roaming",
    "Bonjour, salut, pourquoi ma commande est bloquée",
])
def test_a_question_word_after_several_greetings_asks(text: str) -> None:
    result = triaged(text)
    assert (result.intent, result.needs_response) == ("question", True)


def test_greetings_alone_or_before_a_statement_ask_nothing() -> None:
    assert triaged("hola, buenas tardes").intent == "other"
    assert triaged("hey hi hello, great launch today").intent == "other"
    assert triaged("hi, hiking when the weather is good").intent == "other"  # "hi" opens no "hiking"


def test_blank_greetings_skip_nothing_and_end() -> None:
    # A blank greeting matches before any word without taking one: skipping it must not loop.
    rules = TriageRules(greetings=("", "  ", "hola", "buenas"))
    assert triaged("hola buenas, cuándo abren", rules).intent == "question"
    assert triaged("la tienda, cuándo abren", rules).intent == "other"


@pytest.mark.parametrize("greeting", ["", "  ", "*", " ** "])
def test_a_greeting_without_a_word_is_a_config_error(greeting: str) -> None:
    # A bare "*" greeting would take any word, the question word too; a blank one is a slip.
    with pytest.raises(TriageConfigError, match=r"'greetings' has entries without a word"):
        TriageRules.from_dict({"greetings": ["hola", greeting]})
