"""A past reply greets its customer by first name as often as by full name ("Hi Ana," for Ana López). Until
2026-12-07 only the whole display name was swapped, so "Hi Ana, your refund for order 4417 …" was offered to Bob as
it was. Now a word of the earlier author's name in the greeting is swapped for the new author's name, and a reply
whose greeting still holds one, not told apart from the rest ("Hi Ana thanks …"), is not offered."""

from __future__ import annotations

from monitor.storage import Database
from monitor.suggestions import suggest
from tests.test_suggested_past_reply_never_names_the_earlier_customer import _answered_lea, _mention, _same_vector


def _offered(db: Database) -> set[str]:
    bob = _mention(db, "bob:1", "Bob Smith", "bobsmith")
    return {s.text for s in suggest(db, bob, (), limit=10, embed=_same_vector)}


def test_a_reply_greeting_by_a_word_of_the_name_greets_the_new_author(db: Database) -> None:
    _answered_lea(db, "Hi Ana, your refund for order 4417 is on its way.", "Ana López", "analopez")
    _answered_lea(db, "¡Hola lópez! Tu reembolso está en camino.", "Ana López", "analopez")
    _answered_lea(db, "Thanks Maria - order 4418 ships today.", "Ana-Maria Ruiz", "anamaria")
    _answered_lea(db, "Hi Ana López, the courier picks it up tomorrow.", "Ana López", "analopez")
    assert _offered(db) == {"Hi Bob Smith, your refund for order 4417 is on its way.",
                            "¡Hola Bob Smith! Tu reembolso está en camino.",
                            "Thanks Bob Smith - order 4418 ships today.",
                            "Hi Bob Smith, the courier picks it up tomorrow."}


def test_a_reply_whose_greeting_still_holds_a_word_of_the_name_is_not_offered(db: Database) -> None:
    _answered_lea(db, "Hi Ana thanks for waiting, order 4417 is refunded.", "Ana López", "analopez")
    _answered_lea(db, "Hi Ana López thanks for waiting, order 4418 is refunded.", "Ana López", "analopez")
    _answered_lea(db, "Hi Ana-Maria thanks for waiting, order 4419 is refunded.", "Ana-Maria Ruiz", "anamaria")
    _answered_lea(db, "Thanks for waiting! Ana's order 4419 is refunded.", "Ana López", "analopez")  # not a greeting
    assert _offered(db) == {"Thanks for waiting! Ana's order 4419 is refunded."}
