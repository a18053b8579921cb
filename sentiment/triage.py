"""Intent, needs-response and priority for a classified mention.

Rules (all configurable through `TriageRules`, e.g. a ``[triage]`` TOML table):

Intent, first match wins:
  1. complaint: sentiment is negative with probability >= ``complaint_min_score``,
     or the text has a complaint keyword and the sentiment is not positive;
  2. question: the text has a "?" or starts with / contains a question phrase;
  3. praise: sentiment is positive with probability >= ``praise_min_score``;
  4. other.

needs_response: the mention is replyable and its intent is in ``response_intents``.

priority (0..100) is the sum of, clamped to 100:
  * ``negative_weight`` x P(negative);
  * ``intent_weights[intent]``;
  * ``reach_weight`` x log(1 + followers) / log(1 + ``reach_saturation``), capped at 1
    (unknown followers count as 0);
  * ``replyable_weight`` if replyable;
  * ``recency_weight`` x 0.5 ** (age / ``recency_half_life_hours``).
The defaults add up to 100 for the most urgent mention.
"""
from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

from sentiment.errors import TriageConfigError

if TYPE_CHECKING:  # importing the model code pulls in torch (~2 s): only the classifier needs it
    from sentiment.api import Prediction

INTENTS: tuple[str, ...] = ("complaint", "question", "praise", "other")

_QUESTION_PHRASES = (
    # en
    "how do", "how can", "how to", "why", "what", "when", "where", "which", "who", "can i", "can you",
    "could you", "is there", "are there", "does", "do you", "anyone know", "any idea",
    # es / pt / it / fr / de
    "cómo", "como", "por qué", "por que", "qué", "cuándo", "dónde", "quando", "onde", "perché", "dove",
    "comment", "pourquoi", "quand", "où", "est-ce que", "wie", "warum", "wann", "wo ", "kann ich",
)
_COMPLAINT_KEYWORDS = (
    "refund", "broken", "not working", "doesn't work", "does not work", "still waiting", "worst",
    "scam", "cancel", "never again", "disappointed", "useless", "crash", "outage", "down again",
    "reembolso", "no funciona", "estafa", "remboursement", "ne marche pas", "arnaque",
    "funktioniert nicht", "betrug", "não funciona", "golpe", "non funziona", "truffa",
)


@dataclass(frozen=True)
class TriageRules:
    complaint_min_score: float = 0.5
    praise_min_score: float = 0.5
    question_phrases: tuple[str, ...] = _QUESTION_PHRASES
    complaint_keywords: tuple[str, ...] = _COMPLAINT_KEYWORDS
    response_intents: tuple[str, ...] = ("complaint", "question")
    negative_weight: float = 40.0
    intent_weights: Mapping[str, float] = field(
        default_factory=lambda: {"complaint": 15.0, "question": 10.0, "praise": 0.0, "other": 0.0})
    reach_weight: float = 25.0
    reach_saturation: int = 1_000_000
    replyable_weight: float = 10.0
    recency_weight: float = 10.0
    recency_half_life_hours: float = 6.0

    @classmethod
    def from_dict(cls, table: Mapping[str, Any]) -> "TriageRules":
        """Build from a TOML-style table; unknown keys or bad values raise TriageConfigError."""
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(table) - set(known))
        if unknown:
            raise TriageConfigError(f"unknown triage rule(s): {', '.join(unknown)}; "
                                    f"valid keys: {', '.join(sorted(known))}")
        values: dict[str, Any] = {}
        for key, value in table.items():
            default = getattr(cls(), key)
            if isinstance(default, tuple):
                if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
                    raise TriageConfigError(f"triage rule {key!r} must be a list of strings")
                values[key] = tuple(v.lower() for v in value)
            elif isinstance(default, Mapping):
                if not isinstance(value, Mapping):
                    raise TriageConfigError(f"triage rule {key!r} must be a table of intent = weight")
                bad = sorted(set(value) - set(INTENTS))
                if bad:
                    raise TriageConfigError(f"triage rule {key!r} has unknown intent(s) {bad}; use {INTENTS}")
                values[key] = {**default, **{k: _number(f"{key}.{k}", v) for k, v in value.items()}}
            else:
                values[key] = _number(key, value)
        rules = cls(**values)
        rules.validate()
        return rules

    def validate(self) -> None:
        for name in ("complaint_min_score", "praise_min_score"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise TriageConfigError(f"triage rule {name!r} must be between 0 and 1")
        if self.reach_saturation < 1 or self.recency_half_life_hours <= 0:
            raise TriageConfigError("reach_saturation must be >= 1 and recency_half_life_hours > 0")
        bad = sorted(set(self.response_intents) - set(INTENTS))
        if bad:
            raise TriageConfigError(f"response_intents has unknown intent(s) {bad}; use {INTENTS}")


def _number(key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise TriageConfigError(f"triage rule {key!r} must be a non-negative number, got {value!r}")
    return float(value)


DEFAULT_RULES = TriageRules()


@dataclass(frozen=True)
class Triage:
    intent: str          # "complaint" | "question" | "praise" | "other"
    needs_response: bool
    priority: float      # 0..100


def _contains(text: str, phrases: tuple[str, ...]) -> bool:
    # Word-boundary match so "who" does not fire inside "whole".
    return any(re.search(r"(?<!\w)" + re.escape(p.strip()) + r"(?!\w)", text) for p in phrases)


def intent_of(text: str, prediction: Prediction, rules: TriageRules = DEFAULT_RULES) -> str:
    lowered = text.lower()
    negative = prediction.scores.get("negative", 0.0)
    if (prediction.label == "negative" and negative >= rules.complaint_min_score) or (
            prediction.label != "positive" and _contains(lowered, rules.complaint_keywords)):
        return "complaint"
    if "?" in text or "¿" in text or _contains(lowered, rules.question_phrases):
        return "question"
    if prediction.label == "positive" and prediction.scores.get("positive", 0.0) >= rules.praise_min_score:
        return "praise"
    return "other"


def triage(text: str, prediction: Prediction, *, follower_count: int | None, replyable: bool,
           age_seconds: float, rules: TriageRules = DEFAULT_RULES) -> Triage:
    intent = intent_of(text, prediction, rules)
    reach = 0.0
    if follower_count:
        reach = min(1.0, math.log1p(max(0, follower_count)) / math.log1p(rules.reach_saturation))
    recency = 0.5 ** (max(0.0, age_seconds) / 3600.0 / rules.recency_half_life_hours)
    priority = (rules.negative_weight * prediction.scores.get("negative", 0.0)
                + rules.intent_weights.get(intent, 0.0)
                + rules.reach_weight * reach
                + (rules.replyable_weight if replyable else 0.0)
                + rules.recency_weight * recency)
    return Triage(intent, replyable and intent in rules.response_intents, round(min(100.0, max(0.0, priority)), 2))
