"""Showing untrusted mention text safely outside HTML (terminals, logs)."""

from __future__ import annotations

import re
import unicodedata

# C0/C1 controls and bidi overrides: they can rewrite a terminal screen or reorder what a reader sees.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def terminal_safe(text: str, limit: int | None = None) -> str:
    """One line of text with control and bidi-override characters shown as escapes."""
    cleaned = _UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text.replace("\r\n", " ").replace("\n", " "))
    if limit is not None and len(cleaned) > limit:
        cleaned = cleaned[: limit - 1] + "…"
    return unicodedata.normalize("NFC", cleaned)
