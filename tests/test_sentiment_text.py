"""Text helpers shared by the model and the triage rules: what counts as something to read, and line breaks."""
from __future__ import annotations

import re
import sys

import pytest

from sentiment.text import DEFAULT_IGNORABLE, has_something_to_read, normalise_tweet


def test_texts_of_only_invisible_fillers_have_nothing_to_read() -> None:
    # Hangul fillers are letters by category, variation selectors and the grapheme joiner marks: all show nothing.
    for text in ("\u3164", "\u3164\u3164 \u3164", "\u115f\u1160", "\ufe0f", "\u034f", "\u200b\u00ad", "\U000e0041"):
        assert not has_something_to_read(text), ascii(text)
    for text in ("ok\u3164", "\u2764\ufe0f", "\u3131", "e\u0301"):  # a visible letter, emoji or accent
        assert has_something_to_read(text), ascii(text)


def test_the_list_of_invisible_characters_is_unicodes_default_ignorables() -> None:
    regex = pytest.importorskip("regex")
    unicodes = regex.compile(r"\p{Default_Ignorable_Code_Point}")
    ours = re.compile(f"[{DEFAULT_IGNORABLE}]")
    differ = [hex(c) for c in range(sys.maxunicode + 1) if bool(unicodes.match(chr(c))) != bool(ours.match(chr(c)))]
    assert differ == []


@pytest.mark.parametrize("text", ["one\ntwo", "a\r\n\r\n  b \u2028 c\n", "  @acme\nsee https://x.co/a?b \n\n",
                                  "no break", "\n \n", ""])
def test_line_breaks_kept_for_the_rules_leave_the_text_the_model_reads(text: str) -> None:
    lines = normalise_tweet(text, keep_line_breaks=True)
    assert lines.replace("\n", " ") == normalise_tweet(text)
    assert "\n\n" not in lines and lines == lines.strip()
    assert normalise_tweet("one\ntwo") == "one two"
