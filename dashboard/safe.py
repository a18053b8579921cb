"""Showing untrusted text: mention text, names and URLs come from strangers on the internet.

Everything is HTML-escaped into a fixed, scrolling box (``dir="auto"`` for right-to-left scripts,
``overflow-wrap: anywhere`` for 10,000-character words); it is never read as Markdown, and only
``http(s)`` URLs ever become links. Where Streamlit reads a string as Markdown (``st.caption``,
``st.success``/``warning``/``error``/``info``, expander and button labels), untrusted parts go
through :func:`md_escape` first.
"""

from __future__ import annotations

import html
import re

import streamlit as st

from monitor.text import safe_url

__all__ = ["isolate", "md_escape", "plain", "safe_url", "show_error", "text_box"]

_BOX = ("white-space:pre-wrap;overflow-wrap:anywhere;unicode-bidi:plaintext;max-height:14em;overflow-y:auto;"
        "border:1px solid #ddd;border-radius:6px;padding:0.5em 0.7em;margin:0.2em 0;font-size:0.95em;")


def text_box(text: str, css_class: str = "md-text") -> str:
    return f'<div class="{css_class}" dir="auto" style="{_BOX}">{html.escape(text)}</div>'


def plain(text: str | None, limit: int = 200) -> str:
    """A short escaped label (author names and handles can hold markup too)."""
    text = text or ""
    return html.escape(text if len(text) <= limit else text[: limit - 1] + "…")


_FSI, _PDI = "\u2068", "\u2069"  # FIRST STRONG ISOLATE … POP DIRECTIONAL ISOLATE
_ISOLATE_OPENERS = frozenset("\u2066\u2067\u2068")  # LRI, RLI, FSI
# Explicit direction controls (embeddings, overrides, isolates, marks): a name holding one can
# reverse or reorder the rest of the line it is shown in.
_BIDI_CONTROLS = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def isolate(text: str) -> str:
    """``text`` as one Unicode bidi isolate: its direction controls cannot reach the text around it.

    An embedding or override inside an isolate ends with it; a stray POP DIRECTIONAL ISOLATE
    would end ours early, so it is dropped, and isolates the text leaves open are closed.
    """
    depth, kept = 0, []
    for char in text:
        if char in _ISOLATE_OPENERS:
            depth += 1
        elif char == _PDI:
            if not depth:
                continue
            depth -= 1
        kept.append(char)
    return _FSI + "".join(kept) + _PDI * depth + _PDI


# CommonMark lets a backslash escape any ASCII punctuation, and an escaped character is only text:
# no link, image, emphasis, code, HTML, heading, list, table or `<…>` autolink, no `:red[…]` colour
# directive, and no `$…$` formula (Streamlit looks for LaTeX only around unescaped `$`; emoji
# `:shortcodes:` only where a colon is unescaped).
_MD_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")
# Some patterns are found in the already-parsed text, after escapes are undone: Streamlit makes
# `:material/…:` (and `:material_…:`) and `:streamlit:` icons, and ` -> `, ` -- `, ` <= ` … arrows and
# dashes; GFM (remark-gfm) links `http(s)://…`, `www.…` and `a@b.c` (so `mailto:`, `xmpp:` and
# Mastodon's `@user@host` too). An invisible WORD JOINER inside each keeps them as typed.
_MD_JOINER_POINTS = re.compile(r"(?<=:)(?=material|streamlit:|//)|(?<=[Ww]{3})(?=\.)|(?<=[\w+.-])(?=@)", re.ASCII)
_MD_ARROW = re.compile(r"(?<!\S)(?:<->|->|<-|--|>=|<=|~=)(?!\S)")
_WORD_JOINER = "\u2060"
# Line breaks would start new Markdown blocks (indented code, headings); HTML shows runs of
# whitespace as one space anyway.
_MD_WHITESPACE = re.compile(r"[ \t\r\n\f\v]+")


def md_escape(text: str | None) -> str:
    """Untrusted text for a string Streamlit reads as Markdown: it shows as typed, on one line.

    Text holding direction controls is also isolated (:func:`isolate`), so it cannot reverse the
    rest of its line.
    """
    text = _MD_WHITESPACE.sub(" ", text or "").strip(" ")
    text = _MD_ARROW.sub(lambda m: m[0][0] + _WORD_JOINER + m[0][1:], _MD_JOINER_POINTS.sub(_WORD_JOINER, text))
    text = _MD_PUNCTUATION.sub(r"\\\1", text)
    return isolate(text) if _BIDI_CONTROLS.search(text) else text


def show_error(problem: object, lead: str = "") -> None:
    """An error box for ``problem`` (an exception or message): its text may quote a stranger's
    words or a user's name, so it is shown as typed, after a fixed ``lead`` such as "Not done: "."""
    st.error(lead + md_escape(str(problem)))
