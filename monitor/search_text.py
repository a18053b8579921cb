"""Free-text search that folds case as PostgreSQL's ``lower()`` does, on SQLite too.

SQLite's FTS5 trigram index folds case by SQLite's own table, which leaves out about 390 of the letter
pairs PostgreSQL folds: Turkish ``İ`` (so ``iade`` missed ``İADE``), Georgian capitals, Cherokee and
some Latin, Greek and Cyrillic letters. The index is left as it is (folding it in a trigger would need
a SQL function, and then the ``sqlite3`` tool could no longer write mentions); instead the query asks
for each such letter in both its forms. The table also folds a dozen letters that ``lower()`` keeps apart
(the micro sign ``µ`` into ``μ``, the long ``ſ`` into ``s``, Greek symbol forms such as ``ϕ`` into ``φ``):
what the index finds for a term with such a letter is compared again with :func:`search_fold`.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import sqlite3
import sys
from collections import defaultdict
from typing import NamedTuple

# Spellings asked of the index at most (2**5: five letters of two forms); a longer needle is narrowed.
MAX_PHRASES = 32
# The trigram index finds nothing shorter.
MIN_PHRASE_LENGTH = 3


def search_fold(text: str) -> str:
    """``text`` folded for a case-insensitive substring search as the PostgreSQL search folds it: ``lower()``,
    with ``İ`` made a plain ``i`` (not ``i`` and U+0307) and a final ``ς`` made ``σ``. Not ``casefold()``: it
    makes one letter of some that ``lower()`` keeps apart (``µ`` and ``μ``, ``ſ`` and ``s``, ``ß`` and ``ss``)."""
    return text.lower().replace("i\u0307", "i").replace("ς", "σ")


class _IndexFolding(NamedTuple):
    # For each letter the index does not fold to its lower case, the folded letter and both forms:
    # {"i": ("i", "İ"), "ა": ("ა", "Ა"), ...}.
    kept_apart: dict[str, tuple[str, ...]]
    # The folded forms of the letters the index takes for another letter that search_fold keeps apart from them
    # ("µ" and "μ", "ſ" and "s", ...): a phrase with one also finds the other.
    merged: frozenset[str]


@functools.cache
def _index_folding() -> _IndexFolding:
    """How FTS5's trigram tokenizer folds letters, against :func:`search_fold`. Asked of the SQLite library in
    use, once per process (~0.5 s), so it follows that library's own table."""
    lower_pairs = []  # (letter, its folded form) where they differ
    same_casefold: defaultdict[str, set[str]] = defaultdict(set)  # the letters the index may fold together
    for code in range(sys.maxunicode + 1):
        if 0xD800 <= code < 0xE000:
            continue
        letter = chr(code)
        if (folded := search_fold(letter)) != letter:
            lower_pairs.append((letter, folded))
        if (casefolded := letter.casefold()) != letter:
            same_casefold[casefolded].update({letter, casefolded} if len(casefolded) == 1 else {letter})
    apart_candidates = [(a, b) for letters in same_casefold.values()
                        for a, b in itertools.combinations(sorted(letters), 2) if search_fold(a) != search_fold(b)]
    found = _index_finds_one_for_the_other(lower_pairs + apart_candidates)
    kept_apart: dict[str, tuple[str, ...]] = {}
    for (upper, lower), same in zip(lower_pairs, found):
        if not same:
            kept_apart[lower] = tuple(sorted({*kept_apart.get(lower, ()), lower, upper}))
    merged = frozenset(search_fold(letter) for pair, same in zip(apart_candidates, found[len(lower_pairs):])
                       if same for letter in pair)
    return _IndexFolding(kept_apart, merged)


def _index_finds_one_for_the_other(pairs: list[tuple[str, str]]) -> list[bool]:
    """For each pair of letters, whether a trigram index phrase of the second finds the first."""
    with contextlib.closing(sqlite3.connect(":memory:")) as probe:
        probe.execute("CREATE VIRTUAL TABLE probe USING fts5(text, tokenize='trigram')")
        probe.executemany("INSERT INTO probe(rowid, text) VALUES (?, ?)",
                          [(row, first * 3) for row, (first, _) in enumerate(pairs)])
        return [probe.execute("SELECT rowid FROM probe WHERE probe MATCH ? AND rowid = ?",
                              (_quoted(second * 3), row)).fetchone() is not None
                for row, (_, second) in enumerate(pairs)]


def fts_phrases(needle: str) -> tuple[str, bool]:
    """An FTS5 MATCH expression for ``needle`` as a case-insensitive substring, and whether it is exact.
    Where the needle has letters the index keeps apart from their capitals, one phrase per way of writing
    them (``iade``: ``"iade" OR "İade"``). Past MAX_PHRASES spellings, only the longest start of the needle
    that fits is asked for (a nine-letter Georgian word: its first five letters), and it is not exact: the
    rows it finds must still be compared with ``search_fold``. Nor is it exact where the needle has a letter
    the index folds into another (``500µm`` also finds ``500μm``)."""
    index = _index_folding()
    folds_others_in = not index.merged.isdisjoint(search_fold(needle))
    choices: list[tuple[str, ...]] = []
    count = 1  # spellings of the start taken so far
    for letter in needle:
        forms_of_letter = index.kept_apart.get(search_fold(letter), (letter,))
        if count * len(forms_of_letter) > MAX_PHRASES:
            break
        count *= len(forms_of_letter)
        choices.append(forms_of_letter)
    if len(choices) < MIN_PHRASE_LENGTH:
        return _quoted(needle), not folds_others_in  # as typed: no start of it long enough has few enough spellings
    spellings = itertools.product(*choices)
    return (" OR ".join(_quoted("".join(spelling)) for spelling in spellings),
            len(choices) == len(needle) and not folds_others_in)


def _quoted(phrase: str) -> str:
    return '"' + phrase.replace('"', '""') + '"'
