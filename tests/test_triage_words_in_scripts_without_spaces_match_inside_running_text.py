"""Chinese, Japanese and Thai write no spaces between words: a [triage] keyword or question word in these scripts
matches inside running text ("退款" in "我要退款"), where it once matched only with spaces around it. Scripts that
write spaces (Latin, Devanagari, Korean) still match whole words only."""
from __future__ import annotations

import sys
import unicodedata

import pytest

from sentiment.api import Prediction
from sentiment.triage import TriageRules, intent_of

NEU = Prediction("neutral", 0.6, {"negative": 0.3, "neutral": 0.6, "positive": 0.1}, "ja")
RULES = TriageRules.from_dict({"complaint_keywords": ["返金*", "最悪", "退款", "ไม่ทำงาน", "환불", "late"],
                               "question_words_anywhere": ["いつ", "吗", "什么时候"]})


@pytest.mark.parametrize("text", ["すぐに返金してください", "対応が最悪です", "我要退款", "แอปไม่ทำงานเลย",
                                  "ที่แอปไม่ทำงาน",  # after a word ending in a tone mark
                                  "退款!", "返金 してください"])
def test_a_complaint_keyword_inside_running_text_is_a_complaint(text: str) -> None:
    assert intent_of(text, NEU, RULES) == "complaint"


@pytest.mark.parametrize("text", ["荷物はいつ届きますか", "你们发货了吗", "我的订单什么时候到"])
def test_a_question_word_inside_running_text_asks(text: str) -> None:
    assert intent_of(text, NEU, RULES) == "question"


def test_a_word_never_ends_before_a_combining_mark() -> None:
    # "ไม" is "ไม่" (not) without its tone mark: the mark belongs to the letter before it.
    rules = TriageRules.from_dict({"complaint_keywords": ["ไม"]})
    assert intent_of("แอปไม่ทำงาน", NEU, rules) == "other"
    assert intent_of("แอปไมทำงาน", NEU, rules) == "complaint"


def test_scripts_with_spaces_still_match_whole_words_only() -> None:
    assert intent_of("see you later", NEU, RULES) == "other"
    # Korean writes spaces, particles attached to the word: an entry takes them in with a trailing "*".
    assert intent_of("환불이 안 돼요", NEU, RULES) == "other"
    assert intent_of("환불이 안 돼요", NEU, TriageRules.from_dict({"complaint_keywords": ["환불*"]})) == "complaint"


def test_the_scripts_written_without_spaces_are_unicodes() -> None:
    from sentiment.text import written_without_spaces

    regex = pytest.importorskip("regex")
    scripts = ("Han", "Hiragana", "Katakana", "Thai", "Lao", "Khmer", "Myanmar")
    in_script = regex.compile("[" + "".join(rf"\p{{sc={s}}}" for s in scripts) + "]")
    # Marks the Han and kana scripts share, of script Common or Inherited: ー, the voiced sound marks, 〆.
    shared_mark = regex.compile(r"[\p{scx=Han}\p{scx=Hiragana}\p{scx=Katakana}]")
    common = regex.compile(r"[\p{sc=Common}\p{sc=Inherited}]")
    letters = [chr(c) for c in range(sys.maxunicode + 1) if unicodedata.category(chr(c))[0] in "LMN"]
    missing = [hex(ord(ch)) for ch in letters if in_script.match(ch) and not written_without_spaces(ch)]
    wrong = [hex(ord(ch)) for ch in letters if written_without_spaces(ch) and not in_script.match(ch)
             and not (common.match(ch) and shared_mark.match(ch))]
    assert (missing, wrong) == ([], [])
    assert all(written_without_spaces(ch) for ch in "ー々〆\u3099")
    assert not any(written_without_spaces(ch) for ch in "a1ßжكकக한\u0303")
