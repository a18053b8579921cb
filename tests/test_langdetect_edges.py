"""Language detection on padded, one-word and full-width text."""
from __future__ import annotations

import pytest

pytest.importorskip("py3langid")

from sentiment.langdetect import detect_language  # noqa: E402


@pytest.mark.parametrize("padding", ["\u3164\u3164 ", "\u115f\u115f ", "\u200b\u200b", "\u2060 \ufe0f "])
def test_invisible_padding_changes_no_language(padding: str) -> None:
    assert detect_language(padding + "hello there friend") == detect_language("hello there friend") == "en"


@pytest.mark.parametrize("text", ["\u115f\u115f\u115f", "\u1160\u1160\u1160", "\u3164\u3164\u3164\u3164"])
def test_invisible_fillers_alone_have_no_language(text: str) -> None:
    assert detect_language(text) is None


@pytest.mark.parametrize("text", ["ஏன்", "ஏன்?", "வேலை"])
def test_one_tamil_word_with_vowel_signs_is_tamil(text: str) -> None:
    # ஏன் is two letters and a vowel sign: counted as three, it passes the three-letter floor.
    assert detect_language(text) == "ta"


def test_one_hindi_word_reaches_the_identifier() -> None:
    # सेवा: two letters and two vowel signs; Devanagari is shared (Marathi, Sanskrit), so only a brand
    # expecting Hindi hears it as Hindi.
    assert detect_language("सेवा", expected_languages=("en", "hi")) == "hi"


def test_full_width_latin_is_read_as_latin() -> None:
    assert detect_language("ｎｏｔ ｗｏｒｋｉｎｇ") == detect_language("not working") == "en"
    assert detect_language("ｍｙ ｏｒｄｅｒ ｉｓ ｌａｔｅ", expected_languages=("en", "es")) == "en"
