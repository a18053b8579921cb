"""Showing untrusted text: mention text, names and URLs come from strangers on the internet.

Everything is HTML-escaped into a fixed, scrolling box (``dir="auto"`` for right-to-left scripts,
``overflow-wrap: anywhere`` for 10,000-character words); it is never read as Markdown, and only
``http(s)`` URLs ever become links.
"""

from __future__ import annotations

import html

from monitor.text import safe_url

__all__ = ["safe_url", "text_box"]

_BOX = ("white-space:pre-wrap;overflow-wrap:anywhere;unicode-bidi:plaintext;max-height:14em;overflow-y:auto;"
        "border:1px solid #ddd;border-radius:6px;padding:0.5em 0.7em;margin:0.2em 0;font-size:0.95em;")


def text_box(text: str, css_class: str = "md-text") -> str:
    return f'<div class="{css_class}" dir="auto" style="{_BOX}">{html.escape(text)}</div>'


def plain(text: str | None, limit: int = 200) -> str:
    """A short escaped label (author names and handles can hold markup too)."""
    text = text or ""
    return html.escape(text if len(text) <= limit else text[: limit - 1] + "…")
