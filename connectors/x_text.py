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
# What twitter-text counts as one emoji, weighing 2 whatever its code points: a pictograph with any
# variation selector and skin tone, and pictographs joined by U+200D after it; a flag (two regional
# indicators, or the black flag and tag letters, e.g. Scotland's); a keycap ("1\ufe0f\u20e3").
# Pictographs are the Unicode emoji blocks and the Extended_Pictographic symbols outside them (⬆ ‼ ™ 〽 …);
# a symbol there weighs 2 alone too, except © and ®, text (1) unless U+FE0F asks for the emoji.
_PICTOGRAPH = (
    "(?:[\u00a9\u00ae]\ufe0f"
    "|[\u203c\u2049\u2122\u2139\u2194-\u2199\u21a9\u21aa\u231a\u231b\u2328\u2388\u23cf\u23e9-\u23f3"
    "\u23f8-\u23fa\u24c2\u25aa\u25ab\u25b6\u25c0\u25fb-\u25fe\u2600-\u27bf\u2934\u2935\u2b05-\u2b07"
    "\u2b1b\u2b1c\u2b50\u2b55\u3030\u303d\u3297\u3299\U0001F000-\U0001FAFF])[\ufe0f\U0001F3FB-\U0001F3FF]*"
)
_EMOJI = re.compile(
    "[\U0001F1E6-\U0001F1FF]{2}"
    "|\U0001F3F4[\U000E0020-\U000E007E]+\U000E007F"
    "|[#*0-9]\ufe0f?\u20e3"
    f"|{_PICTOGRAPH}(?:\u200d{_PICTOGRAPH})*"
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
