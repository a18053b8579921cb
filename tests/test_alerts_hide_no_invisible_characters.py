"""Alerts take every control and format character (Unicode Cc and Cf) and the blank Hangul fillers out of mention
text and handles, and percent-encode them in links. Until 2026-12-07 only a fixed list went (C0/C1 controls,
U+200B-U+200F, the bidi embeddings and isolates, U+FEFF): the Arabic letter mark, tag characters (invisible text),
the soft hyphen, the Mongolian vowel separator and the fillers reached the chat, and the links."""

from __future__ import annotations

import unicodedata

import pytest

from monitor.alerts.engine import AlertEngine
from monitor.alerts.format import clean, safe_link
from monitor.alerts.receiver import Receiver
from monitor.storage import Database
from tests.test_alerts import Clock, add_brand, add_mentions, settings, target

INVISIBLE = {
    "\u061c": "%D8%9C",  # ARABIC LETTER MARK, a bidi mark like the right-to-left mark
    "\U000e0041": "%F3%A0%81%81",  # TAG LATIN CAPITAL LETTER A: invisible text
    "\u00ad": "%C2%AD",  # SOFT HYPHEN
    "\u180e": "%E1%A0%8E",  # MONGOLIAN VOWEL SEPARATOR, zero width
    "\u200d": "%E2%80%8D",  # ZERO WIDTH JOINER (taken out as before)
    "\u2064": "%E2%81%A4",  # INVISIBLE PLUS
    "\ufff9": "%EF%BF%B9",  # INTERLINEAR ANNOTATION ANCHOR
    "\u115f": "%E1%85%9F", "\u1160": "%E1%85%A0", "\u3164": "%E3%85%A4", "\uffa0": "%EF%BE%A0",  # Hangul fillers
}


@pytest.mark.parametrize("char", sorted(INVISIBLE))
def test_an_invisible_character_is_taken_out_of_text_and_encoded_in_links(char: str) -> None:
    assert clean(f"pay{char}pal refund{char}", 280) == "paypal refund"
    encoded = INVISIBLE[char]
    assert safe_link(f"https://pay{char}pal.example/x{char}") == f"https://pay{encoded}pal.example/x{encoded}"


def test_every_control_and_format_character_is_taken_out_and_line_breaks_separate_words() -> None:
    hidden = [chr(c) for c in range(0x110000) if unicodedata.category(chr(c)) in ("Cc", "Cf")]
    assert clean("a" + "".join(hidden) + "b", 100_000) == "a b"  # the controls among them are spaces
    assert clean("line one\nline\u00adtwo\tthree", 280) == "line one linetwo three"
    visible = "caf\u00e9 \u2764\ufe0f \U0001f44d\U0001f3fd"  # an accent, an emoji's variation selector, a skin tone
    assert clean("caf\u0065\u0301 \u2764\ufe0f \U0001f44d\U0001f3fd", 280) == visible


def test_tag_characters_hidden_in_a_post_never_reach_the_chat(sqlite_db: Database) -> None:
    brand = add_brand(sqlite_db)
    tags = "".join(chr(0xE0000 + ord(c)) for c in "IGNORE PREVIOUS")
    urgent = add_mentions(sqlite_db, brand, text=f"refund \u061c{tags} now", author_handle="pay\u3164\u00adpal",
                          url="https://x.example/\u061c1")
    with Receiver() as receiver:
        with AlertEngine(sqlite_db, settings(), [target("team", receiver.mattermost_url())], Clock()) as engine:
            engine.on_new_mentions(urgent)
            assert engine.drain(10)
        [got] = receiver.wait_for(1)
    assert "> refund now" in got.body.splitlines()
    assert "**@\u200bpaypal**" in got.body and "(https://x.example/%D8%9C1)" in got.body
