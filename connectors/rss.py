"""RSS and Atom feeds (news, blogs, Google Alerts) through feedparser, fetched with conditional GETs.

Each fetch reads one feed; the JSON cursor keeps, per feed, the ``ETag``/``Last-Modified`` of the
last answer (sent back as ``If-None-Match``/``If-Modified-Since``, so an unchanged feed costs a
304) and the ids (guid, else link) of the entries it still held, so entries are returned once even
though feeds repeat them on every fetch. A guid that is not a URI ("42") is unique only within its
feed, so its id names the feed too. An entry with neither (RSS 2.0 requires only a title or a
description) gets one from its feed, title, description and publication date. An entry is a mention
when a brand keyword appears in its title or summary and no excluded term does, compared as people read them
(see `connectors.keywords`). A feed's body must arrive within ``request_timeout_seconds`` of its answer starting
and hold at most ``max_feed_bytes`` unpacked; a feed that breaks either is refused, and the others are read. A stray
"&" and a character reference to no character are read as the feed's writer meant them (see `_repaired`). Feeds
have no reply API.
"""

from __future__ import annotations

import codecs
import hashlib
import html
import json
import logging
import re
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any, ClassVar
from urllib.parse import parse_qs, urljoin, urlsplit

import feedparser
import requests
from pydantic import Field

from connectors import keywords
from connectors._http import (
    LINE_TAGS,
    TAGS,
    HttpSettings,
    rate_limited,
    read_body,
    retrying_session,
    without_comments,
)
from connectors.base import (
    BadPayload,
    Capabilities,
    Connector,
    ConnectorError,
    ConnectorSettings,
    FetchResult,
    Mention,
    PostedReply,
    Query,
    ReplyNotAllowed,
    ReplyTarget,
    WebUrl,
    fetch_in_rounds,
    storable_id,
)

log = logging.getLogger("mentiondesk.connectors.rss")

# Encoding hints feedparser reports although the feed parsed fine.
_HARMLESS = (feedparser.CharacterEncodingOverride, feedparser.NonXMLContentType)
# How a whole RSS 2.0, Atom or RSS 1.0 document ends: its root's closing tag, then perhaps comments (page
# caches append some). A body that ends otherwise was cut off, and entries may be missing from it.
_DOCUMENT_END = re.compile(rb"</(?:[\w.-]+:)?(?:rss|feed|RDF)\s*>(?:\s|<!--.*?-->)*\Z", re.DOTALL)
_REFERENCE_NUMBER = re.compile(rb"&#([0-9]+|[xX][0-9a-fA-F]+);")
# A numeric character reference whose number may name no character (U+D800 to U+DFFF, half a UTF-16 surrogate pair;
# past U+10FFFF), as well as some that name one (55000 to 99999, six digits): `_characters` tells them apart.
_SUSPECT_REFERENCE = (rb"&#(?:0*(?:5[5-9][0-9]{3}|[6-9][0-9]{4}|[0-9]{6,})"
                      rb"|[xX]0*(?:[dD][89a-fA-F][0-9a-fA-F]{2}|[0-9a-fA-F]{6,}));")
# What a feed's reader takes for the text it means, though it is not XML: a stray "&" (AT&T), read by feedparser's
# lenient parser as "AT&T;", and references to no character (&#55357;&#56865;, an emoji as its two UTF-16 halves, as
# some CMSs write one; &#x110000;), on which feedparser raised and the feed was lost: from a suspect reference on, with
# the references right after it (a pair's second half). CDATA sections and comments are matched only to be kept as
# they are: an "&" in a CDATA section is text.
_REPAIRABLE = re.compile(rb"<!\[CDATA\[.*?(?:\]\]>|\Z)|<!--.*?(?:-->|\Z)"
                         rb"|(?P<references>%s(?:%s)*)" % (_SUSPECT_REFERENCE, _REFERENCE_NUMBER.pattern)
                         + rb"|(?P<stray>&)(?!(?:#[0-9]+|#[xX][0-9a-fA-F]+|[A-Za-z_:][\w.:-]*);)", re.DOTALL)
# An image with alt text: the text is what it says. WordPress sends every emoji as one ("refund 😡").
_IMAGE_ALT = re.compile(r"""<img\b[^>]*?\salt\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))[^>]*>""", re.IGNORECASE)
# Feed text types that are markup (feedparser's *_detail.type); others, text/plain above all, are read as written.
_MARKUP_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_SPACES = re.compile(r"[^\S\u00a0\u2007\u202f]+")  # whitespace, but for the no-break spaces
_URI_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")  # how an absolute URI starts (RFC 3986)


class RssSettings(HttpSettings):
    feeds: list[WebUrl] = Field(min_length=1)  # RSS/Atom URLs: news sites, blogs, Google Alerts feeds
    # The most a feed may hold, unpacked: a larger one (a gzip bomb) is refused, and the other feeds go on.
    max_feed_bytes: int = Field(default=20 * 1024 * 1024, gt=0)
    user_agent: str = "mentiondesk/0.1 (brand mention monitor; feed reader)"


@dataclass
class _FeedState:
    etag: str | None = None
    modified: str | None = None
    seen: list[str] = field(default_factory=list)  # ids of the entries the feed held at the last read


@dataclass
class _Cursor:
    pending: list[str] = field(default_factory=list)  # feeds left in this round
    feeds: dict[str, _FeedState] = field(default_factory=dict)

    @classmethod
    def load(cls, text: str | None) -> "_Cursor":
        if not text:
            return cls()
        try:
            data = json.loads(text)
            return cls(pending=list(data.get("pending", [])),
                       feeds={url: _FeedState(**state) for url, state in data.get("feeds", {}).items()})
        except (ValueError, TypeError, AttributeError):
            raise ConnectorError("stored RSS cursor is unreadable; reset this query's cursor to start over") from None

    def dump(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))


def _alt_text(image: re.Match[str]) -> str:
    """An image as its alt text: words stand apart from the text around them ("Photo: Reuters" before a
    headline's "Orbisto" glued it into "ReutersOrbisto", and the brand was missed for good); an emoji's (😡),
    as WordPress sends them, stays in its place."""
    alt = "".join(image.groups(default=""))
    return f" {alt} " if any(ch.isalnum() for ch in alt) else alt


def plain(markup: str) -> str:
    """Feed HTML as a browser shows it: a line per paragraph or break, images as their alt text, other inline tags
    dropped, and whitespace runs (the markup's own line ends too) as one space. No-break spaces are kept as sent;
    `_matches` reads them as spaces."""
    text = _IMAGE_ALT.sub(_alt_text, _SPACES.sub(" ", without_comments(markup)))
    text = html.unescape(TAGS.sub("", LINE_TAGS.sub("\n", text)))
    lines = (_SPACES.sub(" ", line).strip() for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


def _entry_text(entry: Any, key: str) -> str:
    """The entry's title or summary as a reader sees it: markup as `plain` shows it, plain text (an Atom
    type="text", an RSS title with no tags) as written but for whitespace runs, which are one space (as readers
    show titles). Read as markup, "battery < 20% and temp > 40C" lost "< 20% and temp >" as a tag. feedparser
    gives a summary taken from the entry's content no summary_detail: the content's type is the summary's."""
    value = entry.get(key) or ""
    detail = entry.get(f"{key}_detail") or next((c for c in entry.get("content") or () if c.get("value") == value), {})
    if detail.get("type", "text/html") in _MARKUP_TYPES:
        return plain(value)
    return _SPACES.sub(" ", value).strip()


def _entry_id(key: str, feed_url: str) -> str:
    """An entry's id from its key (guid/id, else link). A URI (https://…, tag:…, urn:…) names the entry
    anywhere and is kept as it was; anything else ("42") is qualified with the feed, so that two feeds
    numbering their items do not collide."""
    return storable_id(key if _URI_SCHEME.match(key) else f"{feed_url}#{key}")


def _content_key(entry: Any) -> str:
    """A key for an entry with neither guid/id nor link, from what it says: the same at every poll, so it is
    stored once, and read rather than refused (refusing it stopped the feed on every poll). Not its update
    time, which some feeds set to the time of each fetch; an entry edited later may come again as new."""
    parts = [entry.get(k) for k in ("title", "summary", "published")]
    return "content-sha256-" + hashlib.sha256(json.dumps(parts).encode()).hexdigest()


def _entry_time(stamp: Any) -> datetime | None:
    """feedparser's UTC time tuple as a datetime; None if there is none, or it is no date: a zero date
    (year 0), or one past year 9999 once in UTC (9999-12-31T23:59:59-05:00)."""
    try:
        return datetime(*stamp[:6], tzinfo=timezone.utc) if stamp else None
    except (TypeError, ValueError, OverflowError):
        return None


def _absolute(link: str | None, base: str) -> str | None:
    """The entry's link read against the URL the feed came from: blogs link posts as "/posts/1", and ingest keeps only
    web links, so such an entry was stored with none. Only the link: feedparser given the base resolves ids as well,
    and an entry stored before under the id "42" would come again under a new one."""
    if not link:
        return None
    try:
        return urljoin(base, link)
    except ValueError:  # "http://[x": not a link at all; _article_url drops it
        return link


def _article_url(link: str | None) -> str | None:
    """Google Alerts links go through ``google.com/url?…&url=<article>``: link to the article itself."""
    if not link:
        return None
    try:
        parts = urlsplit(link)
    except ValueError:  # "http://[x": not a link at all; ingest keeps only web links anyway
        return None
    if parts.netloc.endswith("google.com") and parts.path == "/url":
        return parse_qs(parts.query).get("url", [link])[0]
    return link


def _matches(text: str, query: Query) -> bool:
    """Whether the query's keywords (or its raw query) are in the text, and none of its excluded terms (see
    connectors.keywords)."""
    return keywords.matches(text, (query.raw,) if query.raw else query.keywords, query.exclude)


def _code_point(number: bytes) -> int:
    """The code point a character reference's number names (b"128545", b"x1F621"); 0x110000, past any, for one
    longer than any is (int() refuses the longest)."""
    base = 16 if number[:1] in b"xX" else 10
    digits = (number[1:] if base == 16 else number).lstrip(b"0") or b"0"
    return int(digits, base) if len(digits) <= 8 else 0x110000


def _characters(references: bytes) -> bytes:
    """Numeric character references, written again as the characters a reader takes them for: two that are the
    halves of a UTF-16 surrogate pair as the one character they encode, and one that is no character (half a pair
    alone, past U+10FFFF) as U+FFFD."""
    code_points = (_code_point(number) for number in _REFERENCE_NUMBER.findall(references))
    text = "".join(chr(point) if point <= 0x10FFFF else "\ufffd" for point in code_points)
    # Written as UTF-16, a pair of halves is their character, and read back, half a pair alone is U+FFFD.
    text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return b"".join(b"&#x%X;" % ord(character) for character in text)


def _repair(part: re.Match[bytes]) -> bytes:
    if part["references"]:
        return _characters(part["references"])
    return b"&amp;" if part["stray"] else part[0]


def _repaired(content: bytes) -> bytes:
    """The feed with its stray "&"s escaped and its numeric references to no character replaced (see _REPAIRABLE).
    A well-formed feed has neither: what it means is unchanged."""
    if content.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or b"\x00" in content[:4]:
        return content  # UTF-16 or UTF-32: an "&" byte there may be part of another character
    # Every repair starts at an "&": a feed with none is not scanned.
    return _REPAIRABLE.sub(_repair, content) if b"&" in content else content


def _parsed(url: str, content: bytes, headers: dict[str, str]) -> Any:
    """feedparser's reading of the feed, repaired. Whatever feedparser raises refuses this feed only, as BadPayload
    naming it: its lenient parser raises on input it did not foresee."""
    try:
        return feedparser.parse(_repaired(content), response_headers=headers)
    except Exception as exc:
        raise BadPayload(f"feed {url} could not be parsed ({exc.__class__.__name__})") from None


def _check_well_formed(url: str, parsed: Any, content: bytes) -> None:
    """Refuse a feed that is cut off or has no entries. One that is whole but not quite XML (an HTML entity
    such as &nbsp;) is taken as feedparser's lenient parser read it: refusing it lost every entry."""
    problem = parsed.bozo_exception if parsed.bozo and not isinstance(parsed.bozo_exception, _HARMLESS) else None
    if problem is None:
        return
    if not parsed.entries or not _DOCUMENT_END.search(content):
        raise BadPayload(f"feed {url} is not well-formed XML ({problem})"[:300])
    log.warning("feed %s is not well-formed XML (%s); reading the %d entries parsed", url, problem, len(parsed.entries))


class RssConnector(Connector):
    name = "rss"
    Settings = RssSettings
    capabilities = Capabilities(can_reply=False)
    required_secrets: ClassVar[tuple[str, ...]] = ()
    reply_raw_keys: ClassVar[tuple[str, ...]] = ("link",)  # where to respond instead, in the refusal
    settings: RssSettings

    def __init__(self, settings: ConnectorSettings, secrets: dict[str, str] | None = None) -> None:
        super().__init__(settings, secrets)
        self.session = retrying_session(self.settings, self.settings.user_agent)

    def fetch(self, query: Query, cursor: str | None) -> FetchResult:
        if not (query.raw or query.keywords):
            raise ConnectorError(f"query {query.key!r} has nothing to look for in feeds: give the brand keywords")
        state = _Cursor.load(cursor)
        return fetch_in_rounds(state, self.settings.feeds, lambda pending: self._fetch_source(query, state, pending))

    def _fetch_source(self, query: Query, state: _Cursor, pending: list[str]) -> FetchResult:
        """The next page of the round's first pending feed."""
        feeds = self.settings.feeds
        url = pending[0]
        feed_state = state.feeds.get(url, _FeedState())
        mentions, feed_state = self._read(url, feed_state, query)
        state.feeds = {u: s for u, s in state.feeds.items() if u in feeds}  # feeds removed from settings
        state.feeds[url] = feed_state
        state.pending = pending[1:]
        return FetchResult(mentions, next_cursor=state.dump(), has_more=bool(state.pending))

    def _read(self, url: str, state: _FeedState, query: Query) -> tuple[list[Mention], _FeedState]:
        headers = {}
        if state.etag:
            headers["If-None-Match"] = state.etag
        if state.modified:
            headers["If-Modified-Since"] = state.modified
        timeout = self.settings.request_timeout_seconds
        try:
            response = self.session.get(url, headers=headers, timeout=timeout, stream=True)
        except requests.RequestException as exc:
            raise ConnectorError(f"cannot reach feed {url} ({exc.__class__.__name__})") from None
        with response:
            if response.status_code == 304:
                response.content  # none (a 304 has no body): read, the connection goes back to the pool for the next
                return [], state
            if response.status_code == 429 or (response.status_code == 503 and "retry-after" in response.headers):
                raise rate_limited(f"feed {url}", response)
            if response.status_code >= 400:
                raise ConnectorError(f"feed {url} answered {response.status_code}")
            content = read_body(response, f"feed {url}", seconds=timeout, max_bytes=self.settings.max_feed_bytes)
        parsed = _parsed(url, content, {k.lower(): v for k, v in response.headers.items()})
        _check_well_formed(url, parsed, content)
        if parsed.version == "":
            raise BadPayload(f"feed {url} is neither RSS nor Atom")
        mentions, ids = [], []
        skip = set(state.seen)  # read at the last poll, and then each id as this feed repeats it
        for entry in parsed.entries:
            key = entry.get("id") or entry.get("link") or _content_key(entry)
            entry_id = _entry_id(key, url)
            ids.append(entry_id)
            # A cursor written before ids named their feed holds the bare guid: the entry was read already.
            if entry_id in skip or storable_id(key) in skip:
                continue
            skip.add(entry_id)
            mention = self._mention(entry, entry_id, url, response.url, query)
            if mention is not None:
                mentions.append(mention)
        new_state = _FeedState(response.headers.get("etag"), response.headers.get("last-modified"), ids)
        return mentions, new_state

    def _mention(self, entry: Any, entry_id: str, feed_url: str, base: str, query: Query) -> Mention | None:
        title, summary = _entry_text(entry, "title"), _entry_text(entry, "summary")
        text = title if summary in ("", title) else f"{title}\n\n{summary}"
        if not _matches(text, query):
            return None
        sent = entry.get("published") or entry.get("updated")
        created_at = _entry_time(entry.get("published_parsed") or entry.get("updated_parsed"))
        lang = (entry.get("title_detail") or {}).get("language") or None
        link = _absolute(entry.get("link"), base)
        raw = {"feed": feed_url, "id": entry.get("id"), "link": link, "title": entry.get("title"),
               "summary": entry.get("summary"), "published": sent}
        if created_at is None:
            # Undated entries, or dated unreadably, are dated when first seen (some news feeds leave dates
            # out; a CMS writes 0000-00-00 for a draft's date), as ingest does with unbelievable dates.
            created_at = datetime.now(timezone.utc)
            if sent:
                raw["created_at_as_sent"] = sent
        return Mention(
            platform=self.name,
            external_id=entry_id,
            text=text,
            created_at=created_at,
            url=_article_url(link),
            author_name=entry.get("author") or None,
            lang=lang.split("-")[0].lower() if lang else None,
            replyable=False,
            raw=raw,
        )

    def reply(self, target: ReplyTarget, text: str, idempotency_key: str) -> PostedReply:
        link = target.raw.get("link") if isinstance(target.raw, dict) else None
        raise ReplyNotAllowed("news feeds cannot be replied to" + (f"; respond on the site: {link}" if link else ""))

    def close(self) -> None:
        self.session.close()
