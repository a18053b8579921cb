"""Local news feeds: an RSS 2.0 news feed, an Atom blog feed and a Google Alerts-style Atom feed.

Each feed holds only its newest ``feed_size`` items, as real feeds do. Answers carry ``ETag`` and
``Last-Modified``; a request with a matching ``If-None-Match`` (or, without one, an
``If-Modified-Since`` not older than the feed) gets ``304 Not Modified`` with no body. Faults:
``rate_limit`` (429 with ``Retry-After``), ``server_error``, ``malformed_json`` (the XML cut in
half) and ``missing_fields`` (items without guid/id, link and dates).
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime, parsedate_to_datetime
from typing import Literal
from urllib.parse import quote
from xml.sax.saxutils import escape, quoteattr

from connectors.emulators.corpus import MentionStream
from connectors.emulators.server import EmulatorState, RateWindows, Request, Response

FeedName = Literal["news", "blog", "alerts"]
FEED_PATHS: dict[FeedName, str] = {"news": "/news/rss.xml", "blog": "/blog/atom.xml", "alerts": "/alerts/feeds/orbisto"}
_CONTENT_TYPES = {"news": "application/rss+xml; charset=utf-8", "blog": "application/atom+xml; charset=utf-8",
                  "alerts": "application/atom+xml; charset=utf-8"}


@dataclass
class Entry:
    number: int
    feed: FeedName
    title: str
    summary: str
    lang: str
    author: str
    published: datetime

    @property
    def link(self) -> str:
        return f"https://news.example.com/{self.feed}/{self.number}"


def _atom_time(at: datetime) -> str:
    return at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class FeedEmulator(EmulatorState):
    def __init__(self, *, seed: int, brand_name: str, backlog: int = 120, backlog_end: datetime | None = None,
                 feed_size: int = 20) -> None:
        super().__init__(RateWindows(1_000_000, 60.0))  # feeds have no quota; 429s come from inject()
        self.brand_name, self.feed_size = brand_name, feed_size
        self.not_modified_served = 0  # 304 answers: a conditional GET that matched
        self.stream = MentionStream(seed)
        self._lock = threading.RLock()
        self._entries: dict[FeedName, list[Entry]] = {"news": [], "blog": [], "alerts": []}
        self._next_number = 0
        end = backlog_end or datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
        start = end - timedelta(seconds=97 * backlog)
        for i in range(backlog):
            self._add_generated(start + timedelta(seconds=97 * i))

    def _add(self, entry: Entry) -> Entry:
        with self._lock:
            self._entries[entry.feed].append(entry)
            del self._entries[entry.feed][: -self.feed_size]
            return entry

    def _add_generated(self, at: datetime) -> Entry:
        with self._lock:
            number = self._next_number
            self._next_number += 1
        post = self.stream.post(number)
        text = post.render(self.brand_name, self.brand_name)
        # Google Alerts only carries pages that name the brand; news and blog carry everything.
        feed: FeedName = "alerts" if post.kind != "unrelated" and number % 3 == 0 else ("news", "blog")[number % 2]
        return self._add(Entry(number, feed, text, f"{text} — {post.author.display_name}", post.lang,
                               post.author.display_name, at))

    def add_posts(self, count: int = 1) -> list[str]:
        """Publish the stream's next ``count`` items now; returns their links."""
        now = datetime.now(timezone.utc)
        return [self._add_generated(now).link for _ in range(count)]

    def add_entry(self, feed: FeedName, title: str, summary: str = "", *, lang: str = "en") -> str:
        with self._lock:
            number = self._next_number
            self._next_number += 1
        return self._add(Entry(number, feed, title, summary or title, lang, "Newsroom", datetime.now(timezone.utc))).link

    def entries(self, feed: FeedName) -> list[Entry]:
        with self._lock:
            return list(self._entries[feed])

    # -- rendering ------------------------------------------------------------------------------

    def _rss(self, entries: list[Entry], bare: bool) -> str:
        items = []
        for e in reversed(entries):
            fields = [f"<title>{escape(e.title)}</title>", f"<description>{escape(e.summary)}</description>",
                      f"<dc:creator>{escape(e.author)}</dc:creator>"]
            if not bare:
                fields += [f"<link>{escape(e.link)}</link>", f'<guid isPermaLink="true">{escape(e.link)}</guid>',
                           f"<pubDate>{format_datetime(e.published)}</pubDate>"]
            items.append("<item>" + "".join(fields) + "</item>")
        return ('<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/">'
                "<channel><title>Example News</title><link>https://news.example.com/</link>"
                "<description>Business and technology news</description><language>en</language>"
                + "".join(items) + "</channel></rss>")

    def _atom(self, feed: FeedName, entries: list[Entry], bare: bool) -> str:
        alerts = feed == "alerts"
        out = []
        for e in reversed(entries):
            title = escape(e.title).replace(escape(self.brand_name), f"&lt;b&gt;{escape(self.brand_name)}&lt;/b&gt;") if alerts else escape(e.title)
            fields = [f'<title type="html">{title}</title>',
                      f'<content type="html">{escape(escape(e.summary))}</content>',
                      f"<author><name>{escape(e.author)}</name></author>"]
            if not bare:
                link = (f"https://www.google.com/url?rct=j&sa=t&url={quote(e.link, safe='')}&ct=ga" if alerts else e.link)
                entry_id = f"tag:google.com,2013:googlealerts/feed:{e.number}" if alerts else f"urn:example:blog:{e.number}"
                fields += [f"<id>{escape(entry_id)}</id>", f"<link href={quoteattr(link)}/>",
                           f"<published>{_atom_time(e.published)}</published>", f"<updated>{_atom_time(e.published)}</updated>"]
            out.append(f"<entry xml:lang={quoteattr(e.lang)}>" + "".join(fields) + "</entry>")
        updated = _atom_time(entries[-1].published) if entries else "2026-01-01T00:00:00Z"
        head = ("<id>tag:google.com,2005:reader/user/00000/state/com.google/alerts/0000</id>"
                f"<title>Google Alert - {escape(self.brand_name)}</title>" if alerts
                else "<id>urn:example:blog</id><title>Example Blog</title>")
        return ('<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom" '
                'xmlns:idx="urn:atom-extension:indexing">' + head + f'<link href="https://news.example.com/{feed}" rel="self"/>'
                f"<updated>{updated}</updated>" + "".join(out) + "</feed>")

    # -- HTTP --------------------------------------------------------------------------------------

    def __call__(self, request: Request) -> Response:
        self.requests_served += 1
        feed = next((name for name, path in FEED_PATHS.items() if path == request.path), None)
        if request.method != "GET" or feed is None:
            return Response(404, raw_body=b"Not Found", headers={"content-type": "text/plain"})
        fault = self.faults.take(request.path)
        if fault and fault.kind == "rate_limit":
            return Response(429, raw_body=b"Too Many Requests",
                            headers={"content-type": "text/plain", "retry-after": str(int(fault.retry_after))})
        if fault and fault.kind == "server_error":
            return Response(fault.status, raw_body=b"Service Unavailable", headers={"content-type": "text/plain"})
        entries = self.entries(feed)
        bare = bool(fault and fault.kind == "missing_fields")
        body = (self._rss(entries, bare) if feed == "news" else self._atom(feed, entries, bare)).encode("utf-8")
        etag = '"' + hashlib.sha1(body).hexdigest()[:20] + '"'
        modified = entries[-1].published.replace(microsecond=0) if entries else datetime(2026, 1, 1, tzinfo=timezone.utc)
        headers = {"content-type": _CONTENT_TYPES[feed], "etag": etag, "last-modified": format_datetime(modified, usegmt=True)}
        if self._not_modified(request, etag, modified) and not fault:
            self.not_modified_served += 1
            return Response(304, headers={"etag": etag, "last-modified": headers["last-modified"]})
        if fault and fault.kind == "malformed_json":
            body = body[: len(body) // 2]
        return Response(200, headers=headers, raw_body=body)

    @staticmethod
    def _not_modified(request: Request, etag: str, modified: datetime) -> bool:
        """RFC 9110: If-None-Match decides when present; otherwise If-Modified-Since."""
        if "if-none-match" in request.headers:
            return etag in [t.strip() for t in request.headers["if-none-match"].split(",")]
        try:
            since = parsedate_to_datetime(request.headers["if-modified-since"])
        except (KeyError, TypeError, ValueError):
            return False
        return modified <= since
