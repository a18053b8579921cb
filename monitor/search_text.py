"""Free-text search that folds case as PostgreSQL's ``lower()`` does, on SQLite too.

SQLite's FTS5 trigram index folds case by SQLite's own table, which leaves out about 390 of the letter
pairs PostgreSQL folds: Turkish ``İ`` (so ``iade`` missed ``İADE``), Georgian capitals, Cherokee and
some Latin, Greek and Cyrillic letters. The index is left as it is (folding it in a trigger would need
a SQL function, and then the ``sqlite3`` tool could no longer write mentions); instead the query asks
for each such letter in both its forms.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import sqlite3
import sys

# Spellings asked of the index at most (2**5: five letters of two forms); a longer needle is narrowed.
MAX_PHRASES = 32
# The trigram index finds nothing shorter.
MIN_PHRASE_LENGTH = 3


def search_fold(text: str) -> str:
    """``text`` folded for a case-insensitive substring search: ``casefold()``, with the dotted ``i`` it
    gives for ``İ`` (``i`` and U+0307) made a plain ``i``, as PostgreSQL's ``lower()`` makes it."""
    return text.casefold().replace("i\u0307", "i")


@functools.cache
def _forms_fts_keeps_apart() -> dict[str, tuple[str, ...]]:
    """For each letter that FTS5's trigram tokenizer does not fold to its lower case, the folded letter
    and both forms: ``{"i": ("i", "İ"), "ა": ("ა", "Ა"), ...}``. Asked of the SQLite library in use,
    once per process (~0.3 s), so it follows that library's own table."""
    pairs = []
    for code in range(sys.maxunicode + 1):
        letter = chr(code)
        # Not casefold(): it folds Cherokee to its capitals, and the index needs the letter's other form.
        lower = letter.lower().replace("i\u0307", "i")
        if lower != letter and not 0xD800 <= code < 0xE000:
            pairs.append((letter, lower))
    with contextlib.closing(sqlite3.connect(":memory:")) as probe:
        probe.execute("CREATE VIRTUAL TABLE probe USING fts5(text, tokenize='trigram')")
        probe.executemany("INSERT INTO probe(rowid, text) VALUES (?, ?)",
                          [(row, upper * 3) for row, (upper, _) in enumerate(pairs)])
        forms: dict[str, tuple[str, ...]] = {}
        for row, (upper, lower) in enumerate(pairs):
            found = probe.execute("SELECT rowid FROM probe WHERE probe MATCH ? AND rowid = ?",
                                  (f'"{lower * 3}"', row)).fetchone()
            if found is None:
                forms[search_fold(upper)] = tuple(sorted({*forms.get(search_fold(upper), ()), lower, upper}))
    return forms


def fts_phrases(needle: str) -> tuple[str, bool]:
    """An FTS5 MATCH expression for ``needle`` as a case-insensitive substring, and whether it is exact.
    Where the needle has letters the index keeps apart from their capitals, one phrase per way of writing
    them (``iade``: ``"iade" OR "İade"``). Past MAX_PHRASES spellings, only the longest start of the needle
    that fits is asked for (a nine-letter Georgian word: its first five letters), and it is not exact: the
    rows it finds must still be compared with ``search_fold``."""
    forms = _forms_fts_keeps_apart()
    choices: list[tuple[str, ...]] = []
    count = 1  # spellings of the start taken so far
    for letter in needle:
        forms_of_letter = forms.get(search_fold(letter), (letter,))
        if count * len(forms_of_letter) > MAX_PHRASES:
            break
        count *= len(forms_of_letter)
        choices.append(forms_of_letter)
    if len(choices) < MIN_PHRASE_LENGTH:
        return _quoted(needle), True  # as typed: no start of it long enough has few enough spellings
    spellings = itertools.product(*choices)
    return " OR ".join(_quoted("".join(spelling)) for spelling in spellings), len(choices) == len(needle)


def _quoted(phrase: str) -> str:
    return '"' + phrase.replace('"', '""') + '"'
