"""A template suggested for a mention is filled in its variant for the mention's language, else its default. Until
2026-12-07 a template with neither (a Spanish-only shipping answer, or a Reddit-only default beside a Spanish
variant) was suggested first for an English mention, in Spanish. Now such a template is not suggested where the
mention's language is known; the reply box's template list still has it."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from monitor import suggestions
from monitor.models import MentionStatus
from monitor.storage import Database
from monitor.suggestions import suggest
from monitor.templates import ReplyTemplate
from tests.test_suggestions import _mention

TEMPLATES = (
    ReplyTemplate("Thanks", "Thank you {author}! The {brand} team is glad to hear it."),
    ReplyTemplate("Envíos", "Hola {author}, enviamos a todo México en 3-5 días. Soporte {brand}", lang="es"),
    ReplyTemplate("Outage", "Hi {author}, we know the site is down. {brand}", platforms=("reddit",)),
    ReplyTemplate("Outage", "Hola {author}, sabemos que el sitio no funciona. {brand}", lang="es"),
    ReplyTemplate("Delay", "Hi {author}, sorry for the delay. {brand}", lang="en"),
)


def _same_vector(texts: Sequence[str]) -> np.ndarray:
    # Every template equally close: this is about which are offered, not their ranking (no model needed).
    return np.full((len(texts), 384), 1 / np.sqrt(384), dtype=np.float32)


@pytest.fixture(autouse=True)
def _no_kept_template_vectors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(suggestions, "_template_vectors", suggestions._TextVectors())


def _offered(db: Database, lang: str | None) -> set[str | None]:
    mention = _mention(db, "do you ship to Mexico? the site is down", lang, f"bob{lang}", MentionStatus.NEW.value)
    return {s.template for s in suggest(db, mention, TEMPLATES, limit=10, embed=_same_vector)}


def test_a_template_only_in_another_language_is_not_suggested(db: Database) -> None:
    assert _offered(db, "en") == {"Thanks", "Delay"}
    assert _offered(db, "en-gb") == {"Thanks", "Delay"}
    assert _offered(db, "es-mx") == {"Thanks", "Envíos", "Outage"}
    assert _offered(db, None) == {"Thanks", "Envíos", "Outage", "Delay"}  # not knowing it, any language may suit
