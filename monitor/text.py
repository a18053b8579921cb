"""Showing untrusted mention text safely outside HTML (terminals, logs, spreadsheets)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from urllib.parse import urlsplit

# C0/C1 controls and bidi overrides: they can rewrite a terminal screen or reorder what a reader sees.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def terminal_safe(text: str, limit: int | None = None) -> str:
    """One line of text with control and bidi-override characters shown as escapes."""
    cleaned = _UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text.replace("\r\n", " ").replace("\n", " "))
    if limit is not None and len(cleaned) > limit:
        cleaned = cleaned[: limit - 1] + "…"
    return unicodedata.normalize("NFC", cleaned)


def terminal_author(handle: str | None, limit: int) -> str:
    """An author for a terminal line: ``@handle``, made safe, or "unknown author" where the platform named none."""
    return f"@{terminal_safe(handle, limit)}" if handle else "unknown author"


def safe_url(url: str | None) -> str | None:
    """``url`` if it is an http(s) URL with a host, else None: never a javascript:, data: or relative link."""
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    return url.strip() if parts.scheme.lower() in ("http", "https") and parts.netloc else None


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Spreadsheets skip leading spaces and line breaks, and some read full-width signs as formulas too.
_FORMULA_AFTER_SPACE = _FORMULA_START + ("\uff1d", "\uff0b", "\uff0d", "\uff20")


def formula_like(value: str) -> bool:
    return value.startswith(_FORMULA_START) or value.lstrip().startswith(_FORMULA_AFTER_SPACE)


def csv_safe(value: str) -> str:
    """A CSV cell a spreadsheet will show, not run: formula starters get a leading apostrophe."""
    return "'" + value if formula_like(value) else value


def most_common_first(counts: Mapping[str, int]) -> dict[str, int]:
    """``counts`` most first, ties by name: an incident's languages and platforms as shown. Sorted again wherever
    they are read back: PostgreSQL stores them as JSONB, which gives object keys back in its own order, so the
    main language would not come first."""
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))
