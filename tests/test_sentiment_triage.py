"""Triage rules: intent, needs-response, priority ordering and rule configuration."""
from __future__ import annotations

import tomllib

import pytest

from sentiment.api import Prediction
from sentiment.errors import TriageConfigError
from sentiment.triage import DEFAULT_RULES, TriageRules, triage


def pred(label: str, p: float) -> Prediction:
    rest = (1.0 - p) / 2
    scores = {name: (p if name == label else rest) for name in ("negative", "neutral", "positive")}
    return Prediction(label, p, scores, "en")


NEG, NEU, POS = pred("negative", 0.9), pred("neutral", 0.8), pred("positive", 0.9)


def t(text: str, prediction: Prediction, followers: int | None = 100, replyable: bool = True, age: float = 0.0):
    return triage(text, prediction, follower_count=followers, replyable=replyable, age_seconds=age)


def test_intents() -> None:
    assert t("My order never arrived, this is awful", NEG).intent == "complaint"
    assert t("Why is my card declined?", NEG).intent == "complaint"          # negative question: complaint
    assert t("How do I change my plan?", NEU).intent == "question"
    assert t("¿Cómo cambio mi plan", NEU).intent == "question"
    assert t("Still waiting for my refund", NEU).intent == "complaint"        # keyword, not positive
    assert t("Love the new update, great work", POS).intent == "praise"
    assert t("Launching a new store in Lyon today", NEU).intent == "other"
    assert t("the whole team", NEU).intent == "other"                        # "who" inside "whole" is no question
    assert t("app keeps crashing since the update", NEU).intent == "complaint"  # "crash*": any ending
    assert t("still no sign of my refunds", NEU).intent == "complaint"
    assert t("Mi pedido fue cancelado", NEU).intent == "complaint"



def test_complaints_in_the_languages_customers_write_without_the_model_calling_them_negative() -> None:
    # The model often reads a plain report as neutral: the keywords make it a complaint all the same.
    assert t("@acme لم يصل طلبي حتى الآن", NEU).intent == "complaint"          # my order has not arrived yet
    assert t("التطبيق معطل من الصباح", NEU).intent == "complaint"              # the app is broken (معطل*)
    assert t("@acme मेरा रिफंड अभी तक", NEU).intent == "complaint"                # my refund, still
    assert t("app kaam nahi karta yaar", NEU).intent == "complaint"           # Hinglish: the app does not work
    assert t("ஆப் வேலை செய்யவில்லை", NEU).intent == "complaint"                   # Tamil: the app is not working
    assert t("I was charged twice for one order", NEU).intent == "complaint"
    assert t("لم يصل طلبي لكن الخدمة رائعة", POS).intent == "praise"           # not when the model reads praise
    assert t("शाम को मिलते हैं", NEU).intent == "other"                           # nothing to complain of

def test_intents_are_read_past_links_handles_and_exclamations() -> None:
    assert t("Loving the new release https://acme.com/blog?utm_source=tw", POS).intent == "praise"
    assert t("Read our story www.acme.com/a?b=c", NEU).intent == "other"       # a link's "?" asks nothing
    assert t("Our https://acme.com/refund-policy is out", NEU).intent == "other"  # nor its "refund"
    assert t("Great comment by @who_knows", POS).intent == "praise"
    assert t("What a great day with @acme!", POS).intent == "praise"           # an exclamation
    assert t("I love it when @acme ships early", POS).intent == "praise"      # "when" starts no sentence
    assert t("@acme @support where is my parcel", NEU).intent == "question"   # after the handles it does
    assert t("Thanks for the help. Why is the blue one gone", NEU).intent == "question"
    assert t("hey @acme can you check my order", NEU).intent == "question"    # several words count anywhere
    assert t("كيف أغير خطتي؟", NEU).intent == "question"                      # the Arabic question mark
    assert t("@acme هل عندكم توصيل إلى دبي", NEU).intent == "question"          # or its question word
    assert t("@acme मेरा ऑर्डर कब आएगा", NEU).intent == "question"            # Hindi asks mid-sentence
    assert t("டெலிவரி எப்போது வரும்", NEU).intent == "question"                 # as Tamil does
    assert t("bhai mera order kab aayega", NEU).intent == "question"          # and Hindi in Latin letters
    assert t("ऑर्डर समय पर आया क्योंकि", NEU).intent == "other"                 # क्योंकि (because) is no क्यों
    assert t("मैंने कबूतर देखा", NEU).intent == "other"                          # nor कबूतर (a vowel sign on) कब
    assert t("プランを変えるには？", NEU).intent == "question"                   # the full-width one
    assert t("hey, why is my order late", NEU).intent == "question"           # a greeting may open it
    assert t("Hola @acme, cuándo abren", NEU).intent == "question"
    assert t("hi there @acme: where is my parcel", NEU).intent == "question"
    assert t("مرحبا، متى يصل طلبي", NEU).intent == "question"                  # the Arabic comma too
    assert t("hiking, when the weather is good", NEU).intent == "other"       # "hi" opens no "hiking"
    stems = TriageRules.from_dict({"greetings": ["Hell*"]})                     # a stem takes any ending
    assert triage("hellooo @acme, why is my order late", NEU, follower_count=1, replyable=True, age_seconds=0,
                  rules=stems).intent == "question"
    assert triage("hey, why is my order late", NEU, follower_count=1, replyable=True, age_seconds=0,
                  rules=stems).intent == "other"                                  # greetings replaced, not added


def test_needs_response() -> None:
    assert t("This is broken", NEG).needs_response
    assert not t("This is broken", NEG, replyable=False).needs_response
    assert not t("Love it", POS).needs_response
    assert t("Can you help me?", NEU).needs_response


def test_priority_orders_by_negativity_reach_replyable_and_age() -> None:
    base = t("This is broken", NEG).priority
    assert t("Love it", POS).priority < base
    assert t("This is broken", NEG, followers=500_000).priority > base > t("This is broken", NEG, followers=None).priority
    assert t("This is broken", NEG, replyable=False).priority < base
    assert t("This is broken", NEG, age=86_400).priority < t("This is broken", NEG, age=600).priority <= base
    assert 0 <= t("x", POS, followers=None, replyable=False, age=1e9).priority
    assert t("broken?", pred("negative", 1.0), followers=10**9).priority <= 100


def test_rules_from_dict_and_errors() -> None:
    rules = TriageRules.from_dict({"reach_weight": 50, "complaint_keywords": ["Late"],
                                   "intent_weights": {"question": 30}})
    assert rules.reach_weight == 50.0 and rules.complaint_keywords == ("late",)
    assert rules.intent_weights["question"] == 30.0 and rules.intent_weights["complaint"] == 15.0
    assert triage("delivery is late", NEU, follower_count=None, replyable=True, age_seconds=0,
                  rules=rules).intent == "complaint"
    assert triage("see you later", NEU, follower_count=None, replyable=True, age_seconds=0,  # whole words
                  rules=rules).intent == "other"
    stems = TriageRules.from_dict({"complaint_keywords": ["Late*"]})
    assert triage("the later the worse", NEU, follower_count=None, replyable=True, age_seconds=0,
                  rules=stems).intent == "complaint"
    assert TriageRules.from_dict({}) == DEFAULT_RULES
    with pytest.raises(TriageConfigError, match="unknown triage rule.*reach_wieght"):
        TriageRules.from_dict({"reach_wieght": 5})
    with pytest.raises(TriageConfigError, match="non-negative number"):
        TriageRules.from_dict({"reach_weight": "high"})
    with pytest.raises(TriageConfigError, match="list of strings"):
        TriageRules.from_dict({"question_phrases": "how"})
    with pytest.raises(TriageConfigError, match="unknown intent"):
        TriageRules.from_dict({"intent_weights": {"rant": 3}})
    with pytest.raises(TriageConfigError, match="between 0 and 1"):
        TriageRules.from_dict({"complaint_min_score": 2})


@pytest.mark.parametrize("toml", ["negative_weight = nan", "negative_weight = inf", "reach_saturation = nan",
                                  "recency_half_life_hours = nan", "intent_weights = { complaint = -nan }"])
def test_nan_and_inf_in_the_rules_are_refused_naming_the_key(toml: str) -> None:
    # Accepted, a nan weight made every priority nan, stored and sorted as 0.
    key = toml.split(" = ")[0] + (".complaint" if toml.startswith("intent") else "")
    with pytest.raises(TriageConfigError, match=rf"triage rule '{key}' must be a finite non-negative number"):
        TriageRules.from_dict(tomllib.loads(toml))


def test_a_question_word_starting_a_line_or_following_an_invisible_mark_asks() -> None:
    assert t("Ordered on Monday\nwhen will it ship", NEU).intent == "question"
    assert t("Ordered on Monday\r\n\r\n  when will it ship", NEU).intent == "question"
    assert t("when will it ship\nI need it for Friday!", NEU).intent == "question"   # the "!" ends another line
    assert t("\u200fهل يوجد فرع في جدة", NEU).intent == "question"        # a right-to-left mark first
    assert t("\u200fمرحبا، \u200fكيف أغير كلمة المرور", NEU).intent == "question"  # and after the greeting
    assert t("\u200bwhen will my order ship", NEU).intent == "question"    # a zero-width space
    assert t("Loved it\nwhat a day!", POS).intent == "praise"              # an exclamation still asks nothing
    assert t("hey\n\u2060@acme why is my order late", NEU).intent == "question"


def test_typographic_apostrophes_match_keywords_typed_with_a_straight_one_and_back() -> None:
    assert t("the app doesn\u2019t work since the update", NEU).intent == "complaint"  # built-in "doesn't work"
    assert t("the app doesn\u02bct work since the update", NEU).intent == "complaint"
    straight = TriageRules.from_dict({"complaint_keywords": ["can't log in"]})
    curly = TriageRules.from_dict({"complaint_keywords": ["Can\u2019t log in"]})
    for rules in (straight, curly):
        for text in ("I can't log in since this morning", "I can\u2019t log in", "I CAN\uff07T LOG IN"):
            assert triage(text, NEU, follower_count=None, replyable=True, age_seconds=0,
                          rules=rules).intent == "complaint", (rules.complaint_keywords, text)
