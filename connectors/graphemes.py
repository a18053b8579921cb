"""Counting user-perceived characters (grapheme clusters), as Bluesky and Mastodon count post length.

A Tamil or Hindi syllable, a flag or a family emoji is one grapheme but several code points, so
``len()`` would refuse replies the platform accepts.
"""

from __future__ import annotations

import regex

_GRAPHEME = regex.compile(r"\X")


def grapheme_count(text: str) -> int:
    return len(_GRAPHEME.findall(text))
