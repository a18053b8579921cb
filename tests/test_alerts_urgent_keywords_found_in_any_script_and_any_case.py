"""An urgent alert's danger keywords ([alerts.rules.urgent] keywords, and a brand's own) are found as the README
promises, "whole words, any case", the way the connectors find a brand's keywords: until 2026-12-07 they were
found by Python's lower() and ASCII-minded word boundaries only, so "退款" in a Chinese post, "詐欺" in a Japanese
one, "iade" in Turkish capitals, "straße" written "STRASSE", a full-width "ＲＥＦＵＮＤ", "data breach" across a line
end and "don't trust" typed with a phone's apostrophe never paged anyone. The alert names the keyword as configured."""

from __future__ import annotations

from typing import Any

import pytest

from monitor.alerts.engine import AlertEngine
from monitor.alerts.receiver import Receiver
from monitor.storage import Database
from tests.test_alerts import Clock, add_brand, add_mentions, events, settings, target


def _urgent_alerts(db: Database, text: str, alert_settings: dict[str, Any]) -> list[str]:
    """The bodies of the urgent alerts a neutral, low-reach, low-priority post with ``text`` by Acme sends."""
    brand = add_brand(db)
    with Receiver() as receiver:
        with AlertEngine(db, settings(**alert_settings), [target("care", receiver.json_url())], Clock()) as engine:
            engine.on_new_mentions(add_mentions(db, brand, text=text))
            assert engine.drain(10)
        return [got.body for got in receiver.wait_for(len(events(db)))]


@pytest.mark.parametrize(("keyword", "text"), [
    ("退款", "我要退款，太差了"),  # Chinese: "I want a refund, terrible"; no spaces between words
    ("詐欺", "このアプリは詐欺です"),  # Japanese: "this app is a scam"
    ("iade", "PARAMI İADE EDİN"),  # Turkish capitals: "refund my money"
    ("straße", "FEHLER IN DER STRASSE"),  # "ß" in capitals is "SS"
    ("refund", "ＲＥＦＵＮＤ ｍｅ ｎｏｗ"),  # full-width letters, as East Asian keyboards type them
    ("data breach", "possible data\nbreach at acme"),  # a phrase across a line end
    ("don't trust", "I don\u2019t trust acme anymore"),  # a phone's typographic apostrophe
])
def test_a_danger_keyword_pages_in_any_script_and_any_case(sqlite_db: Database, keyword: str, text: str) -> None:
    bodies = _urgent_alerts(sqlite_db, text, {"rules": {"urgent": {"keywords": [keyword]}}})
    assert len(bodies) == 1 and f'keyword "{keyword}"' in bodies[0]


def test_a_brands_own_danger_keyword_pages_in_a_language_without_spaces(sqlite_db: Database) -> None:
    bodies = _urgent_alerts(sqlite_db, "このアプリは詐欺です", {"brands": {"acme": {"urgent": {"keywords": ["詐欺"]}}}})
    assert len(bodies) == 1 and 'keyword "詐欺"' in bodies[0]


@pytest.mark.parametrize("text", ["refunded already, thanks", "the scampi was great", "prefunding round closed"])
def test_a_danger_keyword_inside_a_longer_word_does_not_page(sqlite_db: Database, text: str) -> None:
    assert _urgent_alerts(sqlite_db, text, {"rules": {"urgent": {"keywords": ["refund", "scam"]}}}) == []
