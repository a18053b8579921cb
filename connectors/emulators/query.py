"""A small boolean search-query parser shared by the emulators (X's syntax and Reddit's lucene subset).

Terms next to each other must all match; ``OR`` joins alternatives (AND binds tighter, as on X);
``-term`` (and, for lucene, ``NOT term``) negates; parentheses group; ``"quoted phrases"`` match
as a whole. What a single term means (a word, ``lang:es``, ``@handle``) is up to the caller.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")
Matcher = Callable[[T], bool]

_TOKEN = re.compile(r'\s*(-?)("(?:[^"\\]|\\.)*"|\(|\)|[^\s()"]+)')


class BadQuery(ValueError):
    pass


def word_pattern(term: str) -> re.Pattern[str]:
    """Case-insensitive, on word boundaries: 'acme' matches 'Acme!' and '@acme' but not 'acmeville'."""
    return re.compile(r"(?<!\w)" + re.escape(term) + r"(?!\w)", re.IGNORECASE)


class _Parser(Generic[T]):
    def __init__(self, text: str, atom: Callable[[str], Matcher[T]], lucene: bool) -> None:
        self.tokens = [(m.group(1) == "-", m.group(2)) for m in _TOKEN.finditer(text)]
        self.atom, self.lucene, self.position = atom, lucene, 0

    def peek(self) -> str | None:
        return self.tokens[self.position][1] if self.position < len(self.tokens) else None

    def parse(self) -> Matcher[T]:
        if not self.tokens:
            raise BadQuery("empty query")
        result = self.parse_or()
        if self.position != len(self.tokens):
            raise BadQuery("unbalanced parenthesis")
        return result

    def parse_or(self) -> Matcher[T]:
        alternatives = [self.parse_and()]
        while self.peek() == "OR":
            self.position += 1
            alternatives.append(self.parse_and())
        return alternatives[0] if len(alternatives) == 1 else (lambda item: any(m(item) for m in alternatives))

    def parse_and(self) -> Matcher[T]:
        terms: list[Matcher[T]] = []
        while self.peek() not in (None, ")", "OR"):
            if self.lucene and self.peek() == "AND":
                self.position += 1
                continue
            terms.append(self.parse_term())
        if not terms:
            raise BadQuery("OR without a term on both sides, or an empty group")
        return terms[0] if len(terms) == 1 else (lambda item: all(m(item) for m in terms))

    def parse_term(self) -> Matcher[T]:
        negated, token = self.tokens[self.position]
        self.position += 1
        if self.lucene and token == "NOT" and not negated:
            inner = self.parse_term()
            return lambda item: not inner(item)
        if token == "(":
            matcher = self.parse_or()
            if self.peek() != ")":
                raise BadQuery("missing closing parenthesis")
            self.position += 1
        elif token == ")":
            raise BadQuery("unbalanced parenthesis")
        else:
            matcher = self.atom(token)
        return (lambda item: not matcher(item)) if negated else matcher


def parse(text: str, atom: Callable[[str], Matcher[T]], *, lucene: bool = False) -> Matcher[T]:
    """Compile ``text``; raises :class:`BadQuery` with a short reason when it is not valid."""
    return _Parser(text, atom, lucene).parse()
