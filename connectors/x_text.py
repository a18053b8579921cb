"""How X counts a post's length (https://docs.x.com/resources/fundamentals/counting-characters).

Text is NFC-normalised, every URL counts 23, most Latin/Cyrillic/Greek-range characters count 1,
CJK and other characters 2, and an emoji (with its modifiers and joiners) 2.
"""

from __future__ import annotations

import re
import unicodedata

# X's published weighting (twitter-text v3 config): code points in these ranges weigh 1, others 2.
_X_LIGHT_RANGES = ((0, 4351), (8192, 8205), (8208, 8223), (8242, 8247))
X_URL_LENGTH = 23
# A URL X would shorten: explicit http(s), or a bare domain with a common top-level domain.
_URL = re.compile(
    r"https?://[^\s<>\"]+"
    r"|(?<![\w@.-])(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+(?:com|net|org|io|co|app|dev|ly|me|info|biz|ai|gg|tv|uk|de|fr|es|it|nl|in|br|mx|jp|ca|au)\b(?:/[^\s<>\"]*)?",
    re.IGNORECASE,
)
_URL_TRAILING = ".,;:!?'\")]}"
# An emoji with any variation selector, skin tone and zero-width-joined emoji after it; flags.
_EMOJI = re.compile(
    "(?:[\U0001F1E6-\U0001F1FF]{2})"
    "|(?:[\u2600-\u27bf\U0001F000-\U0001FAFF][\ufe0f\U0001F3FB-\U0001F3FF]*"
    "(?:\u200d[\u2600-\u27bf\U0001F000-\U0001FAFF][\ufe0f\U0001F3FB-\U0001F3FF]*)*)"
)


def x_weighted_length(text: str) -> int:
    text = unicodedata.normalize("NFC", text)
    length = 0
    position = 0
    for match in _URL.finditer(text):
        url = match.group().rstrip(_URL_TRAILING)
        length += _weigh(text[position:match.start()]) + X_URL_LENGTH
        position = match.start() + len(url)
    return length + _weigh(text[position:])


def _weigh(text: str) -> int:
    emoji_chars = 0
    total = 0
    for match in _EMOJI.finditer(text):
        total += 2
        emoji_chars += len(match.group())
    remainder = _EMOJI.sub("", text) if emoji_chars else text
    for ch in remainder:
        point = ord(ch)
        total += 1 if any(lo <= point <= hi for lo, hi in _X_LIGHT_RANGES) else 2
    return total
