"""Finding a brand's keywords in a post's text, for the connectors that filter what a platform's search cannot
(feeds, which have no search; Reddit's comment streams), and an urgent alert's danger keywords (monitor.alerts.rules).

A keyword is found on word boundaries, in any case (casefold: "ß" is "ss"), NFKC-normalised (an "e" and a combining
accent is "é", a no-break space a space), with typographic apostrophes as "'" (Domino’s) and Unicode hyphens as "-"
(T‑Mobile), without the characters that show nothing (a soft hyphen, a zero-width space or joiner: "Orbis\u00adto"
is "Orbisto"), and the words of a phrase apart by any whitespace (a line end, several spaces), as a reader sees
them. Chinese, Japanese, Thai (…) put no space between words, and Korean particles attach to the word before, so a
keyword needs a boundary only against a letter of a script that parts words with spaces: "Orbisto" is found in
"Orbisto的客服", "Orbisto에서" and "オービスト" in "オービスト最悪", not in "Orbistore".
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable

from sentiment.text import DEFAULT_IGNORABLE_CHAR

# What a keyword typed with ' or - should find, which NFKC does not fold: typographic apostrophes, and the hyphen
# U+2010 (NFKC's form of the non-breaking hyphen U+2011 too). Not dashes: "Orbisto – Cloud" is no "Orbisto-Cloud".
_AS_TYPED = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u201b": "'", "\u2032": "'",
                           "\u2010": "-"})
# Scripts written without spaces between words (Han, Hiragana, Katakana, Thai, Lao, Khmer, Myanmar), and Hangul.
_UNSPACED_LETTERS = ("\u0e00-\u0eff\u1000-\u109f\u1100-\u11ff\u1780-\u17ff\u19e0-\u19ff\u2e80-\u2fdf"
                     "\u3005-\u3007\u3021-\u3029\u3038-\u303c\u3040-\u30ff\u3130-\u318f\u31f0-\u31ff"
                     "\u3400-\u4dbf\u4e00-\u9fff\ua960-\ua97f\ua9e0-\ua9ff\uaa60-\uaa7f\uac00-\ud7ff"
                     "\uf900-\ufaff\U00020000-\U0003ffff")
_UNSPACED = re.compile(f"[{_UNSPACED_LETTERS}]")
_SPACED_WORD = f"[^\\W{_UNSPACED_LETTERS}]"  # a letter, digit or _ of a script that parts words with spaces


def comparable(text: str) -> str:
    """Text as keywords are compared with it. Turkish "İ" casefolds to "i" and a combining dot, which would keep
    "ikea" from "İKEA" (and "İstanbul" from "istanbul"): it is a plain "i" here. Characters that show nothing go
    first, so that an accent after one still joins its letter; NFKC and casefolding make none."""
    shown = DEFAULT_IGNORABLE_CHAR.sub("", text)
    return unicodedata.normalize("NFKC", shown).casefold().replace("i\u0307", "i").translate(_AS_TYPED)


@functools.lru_cache(maxsize=1024)
def _pattern(term: str) -> re.Pattern[str] | None:
    """``term`` as a compiled search, once per term (a brand's few terms are tried on every entry and comment);
    None for a term with no words."""
    words = comparable(term).split()
    if not words:
        return None
    pattern = r"\s+".join(re.escape(word) for word in words)
    before = "" if _UNSPACED.match(words[0][0]) else f"(?<!{_SPACED_WORD})"
    after = "" if _UNSPACED.match(words[-1][-1]) else f"(?!{_SPACED_WORD})"
    return re.compile(before + pattern + after)


def _found(comparable_text: str, term: str) -> bool:
    pattern = _pattern(term)
    return pattern is not None and pattern.search(comparable_text) is not None


def first_found(text: str, terms: Iterable[str]) -> str | None:
    """The first of ``terms`` in ``text``, as given (an alert names the keyword as the user wrote it), or None."""
    text = comparable(text)
    return next((term for term in terms if _found(text, term)), None)


def matches(text: str, wanted: Iterable[str], excluded: Iterable[str]) -> bool:
    """Whether one of the ``wanted`` terms is in ``text`` and none of the ``excluded`` ones."""
    text = comparable(text)
    return any(_found(text, term) for term in wanted) and not any(_found(text, term) for term in excluded)
