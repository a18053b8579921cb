"""Text helpers the model and the triage rules share; no torch, as triage runs without the model."""
from __future__ import annotations

import re
import unicodedata

HANDLE = "@user"  # what every @handle becomes (XLM-T's convention), so rules can skip it
HANDLE_PATTERN = re.compile(r"@\w+")
LINK_PATTERN = re.compile(r"https?://\S+|www\.\S+")
_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")


def normalise_tweet(text: str) -> str:
    """Bring sources to one convention (as XLM-T does): handles -> @user, URLs -> http,
    literal ``\\u2019``-style escapes decoded, surrogates made text, whitespace runs collapsed and
    the ends stripped.
    Applied in training and inference alike. (The whitespace matters: XLM-T's files end every
    text with a space and SemEval's do not, and a fine-tuned model learnt that marker.)"""
    text = _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)
    # Surrogates (from JSON "\ud83d\ude00" escapes, or a decoding with surrogateescape): a pair
    # becomes the character it encodes, a lone one U+FFFD as ingest stores it; as they are, no
    # tokenizer takes them (they cannot be encoded as UTF-8).
    text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return " ".join(LINK_PATTERN.sub("http", HANDLE_PATTERN.sub(HANDLE, text)).split())


def has_something_to_read(text: str) -> bool:
    """Whether `text` holds a character that shows: not only whitespace, controls and invisible
    format characters (zero-width spaces, direction marks)."""
    return any(not ch.isspace() and unicodedata.category(ch) not in ("Cc", "Cf") for ch in text)
