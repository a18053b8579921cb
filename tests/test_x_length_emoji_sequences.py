"""X (twitter-text v3) counts every emoji as 2, whatever its code points: keycaps, tag-sequence flags and
symbols drawn as emoji by U+FE0F too, so a reply holding them is not refused as too long."""

from __future__ import annotations

import pytest

from connectors.x import MAX_TWEET_CHARS, XConnector
from connectors.x_text import x_weighted_length
from monitor.templates import check_length

SCOTLAND = "\U0001F3F4\U000E0067\U000E0062\U000E0073\U000E0063\U000E0074\U000E007F"

ONE_EMOJI = {
    "keycap 1": "1\ufe0f\u20e3",
    "keycap # without U+FE0F": "#\u20e3",
    "Scotland flag": SCOTLAND,
    "up arrow": "\u2b06\ufe0f",
    "double exclamation": "\u203c\ufe0f",
    "copyright": "\u00a9\ufe0f",
    "registered": "\u00ae\ufe0f",
    "trade mark": "\u2122\ufe0f",
    "left-right arrow": "\u2194\ufe0f",
    "arrow curving up": "\u2934\ufe0f",
    "part alternation mark": "\u303d\ufe0f",
    "wavy dash": "\u3030\ufe0f",
    "circled congratulation": "\u3297\ufe0f",
    "black cat (joined to a square)": "\U0001F408\u200d\u2b1b",
    "rainbow flag": "\U0001F3F3\ufe0f\u200d\U0001F308",
    "heart on fire": "\u2764\ufe0f\u200d\U0001F525",
    "woman health worker, skin tone": "\U0001F469\U0001F3FD\u200d\u2695\ufe0f",
}


@pytest.mark.parametrize("emoji", ONE_EMOJI.values(), ids=ONE_EMOJI.keys())
def test_an_emoji_sequence_weighs_2(emoji: str) -> None:
    assert x_weighted_length(emoji) == 2
    assert x_weighted_length(f"a {emoji} b") == 4 + 2


def test_a_symbol_without_the_emoji_selector_weighs_as_text() -> None:
    # © and ® are Latin-1 (weight 1) unless U+FE0F asks for the emoji; a digit is a keycap only with U+20E3.
    assert x_weighted_length("\u00a9 2026 Acme\u00ae") == 12
    assert x_weighted_length("#1") == 2
    assert x_weighted_length("\u2b06") == 2  # outside X's weight-1 ranges anyway


def test_a_reply_near_the_limit_with_keycaps_and_flags_is_accepted() -> None:
    text = "a" * 270 + " 1\ufe0f\u20e3" + SCOTLAND + "\u2b06\ufe0f"
    assert x_weighted_length(text) == 271 + 3 * 2 <= MAX_TWEET_CHARS
    check_length(XConnector.capabilities, "x", text)
