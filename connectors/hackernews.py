"""Hacker News through the Algolia HN Search API (``search_by_date``): stories and comments, read-only.

The cursor is JSON. A walk reads newest→oldest with ``created_at_i>=since-overlap`` fixed; it pages
by time, not by offset: after each page the next asks page 0 of ``created_at_i<=upper``, ``upper``
being the oldest second read so far, and skips the ids already read at that second. So neither posts
arriving mid-walk nor hits leaving the index mid-walk (a deleted or [dead] comment) shift what is
left to read, and Algolia's limit of paging through the first 1000 hits never ends a walk early.
Only a page all in one second goes on by offset. Only when the walk ends does ``since`` move up to
the newest second seen. Algolia indexes items a while after they are posted, so each walk looks
``overlap_seconds`` below ``since`` again; the ids read in that window are remembered, so they are
not returned twice while late-indexed ones (and new ones in the same second) still are. Every page
is stored with its cursor, so a restart resumes at the next page. An item whose ``created_at_i`` is
not a believable time (not a whole number, before HN, or in the future) is dated when fetched and
plays no part in the walk.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any, Literal

import requests
from pydantic import Field

from connectors._http import HttpSettings, html_to_text, json_object, rate_limited, read_body, retrying_session
from connectors.base import (
    MAX_SETTING_SECONDS,
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
)

log = logging.getLogger("mentiondesk.connectors.hackernews")

HN_ITEM_URL = "https://news.ycombinator.com/item?id="
SEARCH = "Hacker News search"  # names the source in errors
# Believable item times: none before HN began (October 2006), none more than a minute ahead of our clock (ingest
# dates a post after its fetch when fetched). Another in the cursor would stop the walk: `since` in the future
# filters out every new item (a hit six hours ahead lost six hours of mentions), and one before HN, as the oldest
# second reached, sends the next page below them all. A minute is within the default overlap_seconds.
HN_FIRST_SECOND = int(datetime(2006, 10, 1, tzinfo=timezone.utc).timestamp())
CLOCK_SKEW_SECONDS = 60
ItemType = Literal["story", "comment"]


class HackerNewsSettings(HttpSettings):
    api_base_url: WebUrl = "https://hn.algolia.com/api/v1"
    item_types: list[ItemType] = Field(default=["story", "comment"], min_length=1)
    page_size: int = Field(default=100, ge=1, le=1000)  # Algolia's hitsPerPage
    # Pages a query reads on its very first poll (the rest of HN's history is not wanted).
    first_run_pages: int = Field(default=1, ge=1)
    # How far below the newest item read each walk looks again, for items Algolia indexes late.
    overlap_seconds: int = Field(default=300, ge=0, le=int(MAX_SETTING_SECONDS))
    user_agent: str = "mentiondesk/0.1 (brand mention monitor)"
    # The most a search answer may hold, unpacked (a page of 1000 long comments is a few MB): past it, or
    # still arriving after request_timeout_seconds, the answer is refused instead of holding the poll.
    max_answer_bytes: int = Field(default=20 * 1024 * 1024, gt=0)


@dataclass
class _Cursor:
    since: int | None = None  # the newest second read; walks read from `since - overlap` (inclusive)
    # id -> second, for the ids read within the overlap and, mid-walk, those read at the `upper` second
    seen: dict[str, int] = field(default_factory=dict)
    upper: int | None = None  # created_at_i upper bound (inclusive): the oldest second the walk has read
    page: int = 0  # above 0 only while a walk steps through one second holding more than a page
    pages: int = 0  # pages read in the walk
    newest: int | None = None  # newest second seen in the walk

    @classmethod
    def load(cls, text: str | None) -> "_Cursor":
        if not text:
            return cls()
        try:
            data = json.loads(text)
            # Cursors from before the overlap window: the few ids they kept are read once more (and stored once).
            for old in ("seen_at_since", "newest_ids"):
                data.pop(old, None)
            return cls(**data)
        except (ValueError, TypeError, AttributeError):
            raise ConnectorError("stored Hacker News cursor is unreadable; reset this query's cursor to start over") from None

    def dump(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))


def _term(word: str) -> str:
    word = word.replace('"', "")
    return f'"{word}"' if any(c.isspace() for c in word) else word


def build_search_params(query: Query) -> dict[str, str]:
    """Algolia advanced syntax: keywords (any one of them, via optionalWords), ``-excluded`` words."""
    if query.raw:
        return {"query": query.raw, "advancedSyntax": "true"}
    params = {
        "query": " ".join([*(_term(k) for k in query.keywords), *(f"-{_term(e)}" for e in query.exclude)]),
        "advancedSyntax": "true",
        "typoTolerance": "false",  # "orbisto" must not find "orbit"
    }
    if len(query.keywords) > 1:
        params["optionalWords"] = ",".join(k.replace('"', "") for k in query.keywords)
    return params


class HackerNewsConnector(Connector):
    name = "hackernews"
    Settings = HackerNewsSettings
    capabilities = Capabilities(can_reply=False)
    settings: HackerNewsSettings

    def __init__(self, settings: ConnectorSettings, secrets: dict[str, str] | None = None) -> None:
        super().__init__(settings, secrets)
        self.session = retrying_session(self.settings, self.settings.user_agent)

    def fetch(self, query: Query, cursor: str | None) -> FetchResult:
        if not (query.raw or query.keywords):
            raise ConnectorError(f"query {query.key!r} has nothing to search on Hacker News: give the brand keywords")
        state = _Cursor.load(cursor)
        payload = self._search(query, state)
        hits, page, pages, total = payload.get("hits"), payload.get("page"), payload.get("nbPages"), payload.get("nbHits")
        if not isinstance(hits, list) or not all(isinstance(n, int) for n in (page, pages, total)):
            raise BadPayload("Hacker News answer lacks hits/page/nbPages/nbHits")
        latest = int(time.time()) + CLOCK_SKEW_SECONDS
        read = [r for r in (self._mention(h, latest) for h in hits) if r is not None]
        mentions = [m for m, _ in read]
        timed = [(m, second) for m, second in read if second is not None]
        fresh = [m for m in mentions if m.external_id not in state.seen]
        if query.handle:
            fresh = [m for m in fresh if (m.author_handle or "").lower() != query.handle.lower()]  # the brand's own posts
        more = page + 1 < pages or total > page * self.settings.page_size + len(hits)
        self._advance(state, [m for m, _ in timed], [second for _, second in timed], page, pages, more)
        return FetchResult(fresh, next_cursor=state.dump(), has_more=state.pages > 0)

    def _advance(self, state: _Cursor, mentions: list[Mention], seconds: list[int], page: int, pages: int,
                 more: bool) -> None:
        """Move the walk on: ``more`` says whether hits matching this page's filters remain unread."""
        if seconds:
            top = max(seconds)
            state.newest = top if state.newest is None else max(top, state.newest)
            state.seen.update({m.external_id: s for m, s in zip(mentions, seconds) if m.external_id})
        state.pages += 1
        first_run_done = state.since is None and state.pages >= self.settings.first_run_pages
        if more and not first_run_done:
            if seconds and (state.upper is None or min(seconds) < state.upper):
                # Page by time: what is left lies at or below the oldest second read, whatever left the index.
                state.upper, state.page = min(seconds), 0
                # No page returns an id above `upper` again, nor (next walk) one below the overlap of `newest`.
                window = (state.newest or 0) - self.settings.overlap_seconds  # newest is set: this page had seconds
                state.seen = {i: s for i, s in state.seen.items() if s >= window or s <= min(seconds)}
                return
            if page + 1 < pages:  # a page all in one second (or undated): step through it by offset
                state.page = page + 1
                return
        if state.newest is not None:
            # A walk of only late-indexed items reads nothing newer than `since`: it stays.
            state.since = state.newest if state.since is None else max(state.newest, state.since)
            state.seen = {i: s for i, s in state.seen.items() if s >= state.since - self.settings.overlap_seconds}
        state.upper, state.page, state.pages, state.newest = None, 0, 0, None

    def _search(self, query: Query, state: _Cursor) -> dict[str, Any]:
        filters = [] if state.since is None else [f"created_at_i>={state.since - self.settings.overlap_seconds}"]
        if state.upper is not None:
            filters.append(f"created_at_i<={state.upper}")
        params = {
            **build_search_params(query),
            "tags": "(" + ",".join(self.settings.item_types) + ")",
            "hitsPerPage": str(self.settings.page_size),
            "page": str(state.page),
        }
        if filters:
            params["numericFilters"] = ",".join(filters)
        url = self.settings.api_base_url.rstrip("/") + "/search_by_date"
        try:
            response = self.session.get(url, params=params, timeout=self.settings.request_timeout_seconds, stream=True)
        except requests.RequestException as exc:
            raise ConnectorError(f"cannot reach {SEARCH} ({exc.__class__.__name__})") from None
        with response:
            if response.status_code == 429:
                raise rate_limited(SEARCH, response)
            if response.status_code >= 400:
                raise ConnectorError(f"{SEARCH} answered {response.status_code}{self._error_message(response)}")
            body = self._read_body(response)
        return json_object(SEARCH, body, "search_by_date")

    def _read_body(self, response: requests.Response) -> bytes:
        """The answer's body, within the request timeout in all and ``max_answer_bytes``."""
        return read_body(response, SEARCH, seconds=self.settings.request_timeout_seconds,
                         max_bytes=self.settings.max_answer_bytes)

    def _error_message(self, response: requests.Response) -> str:
        """Algolia's message in an error answer, after ": "; "" where it has none or it cannot be read (the
        status is the error: a slow or odd body must not hide it)."""
        try:
            message = str(json_object(SEARCH, self._read_body(response), "an error").get("message", ""))[:300]
        except ConnectorError:
            return ""
        return f": {message}" if message else ""

    def _mention(self, hit: Any, latest: int) -> tuple[Mention, int | None] | None:
        """The hit as a mention, with the second it counts for in the walk (None: not a believable time, see
        HN_FIRST_SECOND). A missing or odd author or time is read as unknown, the hit as sent kept in raw:
        refusing the page for it stopped the query on every poll, and nothing newer was read again."""
        item = hit if isinstance(hit, dict) else {}
        object_id = item.get("objectID")
        # Without an id the item cannot be stored: ingest sets it aside in the audit log, whole.
        item_id = str(object_id) if isinstance(object_id, (str, int)) and not isinstance(object_id, bool) else ""
        tags = item.get("_tags")
        is_comment = (isinstance(tags, list) and "comment" in tags) or item.get("comment_text") is not None
        if is_comment:
            text = html_to_text(str(item.get("comment_text") or ""))
        else:
            body = html_to_text(str(item.get("story_text") or ""))
            text = "\n\n".join(filter(None, (str(item.get("title") or ""), body)))
        if not text:
            return None  # deleted or dead items come back empty
        sent = item.get("created_at_i")
        second = sent if type(sent) is int and HN_FIRST_SECOND <= sent <= latest else None
        author = item.get("author") if isinstance(item.get("author"), str) else None
        story_id, parent_id = item.get("story_id"), item.get("parent_id")
        missing = [name for name, value in (("objectID", item_id), ("author", author)) if not value]
        if second is None:
            missing.append("a believable created_at_i")
        if missing:  # named by id only: never its text
            log.warning("Hacker News hit %r lacks %s; read without it", item_id[:40], ", ".join(missing))
        raw = {"source": "comment" if is_comment else "story",
               **{k: v for k, v in item.items() if not k.startswith("_highlight")}}
        created_at = datetime.fromtimestamp(second, tz=timezone.utc) if second is not None else None
        if created_at is None:  # dated when fetched, as ingest does with an unbelievable date
            created_at, raw["created_at_as_sent"] = datetime.now(timezone.utc), sent
        mention = Mention(
            platform=self.name,
            external_id=item_id,
            text=text,
            created_at=created_at,
            url=HN_ITEM_URL + item_id if item_id else None,
            author_handle=author or None,
            thread_id=str(story_id) if story_id is not None else None,
            parent_id=str(parent_id) if is_comment and parent_id is not None else None,
            replyable=False,
            raw=raw,
        )
        return mention, second

    def reply(self, target: ReplyTarget, text: str, idempotency_key: str) -> PostedReply:
        raise ReplyNotAllowed(f"Hacker News has no API for posting; reply on the site: {HN_ITEM_URL}{target.external_id}")

    def close(self) -> None:
        self.session.close()
