"""Hacker News through the Algolia HN Search API (``search_by_date``): stories and comments, read-only.

The cursor is JSON. A walk reads pages newest→oldest with ``created_at_i>=since-overlap`` fixed and,
after its first page, ``created_at_i<=upper`` (so posts arriving mid-walk do not shift the pages);
only when the walk ends does ``since`` move up to the newest second seen. Algolia indexes items a
while after they are posted, so each walk looks ``overlap_seconds`` below ``since`` again; the ids
read in that window are remembered, so they are not returned twice while late-indexed ones (and new
ones in the same second) still are. Algolia pages only through the first 1000 hits; a longer walk
continues below the oldest second it reached. Every page is stored with its cursor, so a restart
resumes at the next page.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any, Literal

import requests
from pydantic import Field

from connectors._http import HttpSettings, html_to_text, json_object, rate_limited, retrying_session
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

HN_ITEM_URL = "https://news.ycombinator.com/item?id="
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


@dataclass
class _Cursor:
    since: int | None = None  # the newest second read; walks read from `since - overlap` (inclusive)
    seen: dict[str, int] = field(default_factory=dict)  # id -> second, for the ids read within the overlap
    upper: int | None = None  # created_at_i upper bound (inclusive) fixed after a walk's first page
    page: int = 0
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
        mentions = [m for m in (self._mention(h) for h in hits) if m is not None]
        seconds = [int(m.raw["created_at_i"]) for m in mentions]
        fresh = [m for m in mentions if m.external_id not in state.seen]
        if query.handle:
            fresh = [m for m in fresh if (m.author_handle or "").lower() != query.handle.lower()]  # the brand's own posts
        self._advance(state, mentions, seconds, page, pages, total)
        return FetchResult(fresh, next_cursor=state.dump(), has_more=state.pages > 0)

    def _advance(self, state: _Cursor, mentions: list[Mention], seconds: list[int], page: int, pages: int, total: int) -> None:
        if seconds:
            top = max(seconds)
            state.newest = top if state.newest is None else max(top, state.newest)
            # Only ids within the overlap below the walk's newest can come back in the next walk.
            window = state.newest - self.settings.overlap_seconds
            state.seen.update({m.external_id: s for m, s in zip(mentions, seconds) if s >= window})
            if state.upper is None:
                state.upper = top  # later pages of this walk stay below what the first page saw
        state.pages += 1
        first_run_done = state.since is None and state.pages >= self.settings.first_run_pages
        if page + 1 < pages and not first_run_done:
            state.page = page + 1
            return
        # Algolia pages only through the first 1000 hits: continue below the oldest second reached.
        if total > pages * self.settings.page_size and seconds and min(seconds) != state.upper and not first_run_done:
            state.upper, state.page = min(seconds), 0
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
            response = self.session.get(url, params=params, timeout=self.settings.request_timeout_seconds)
        except requests.RequestException as exc:
            raise ConnectorError(f"cannot reach Hacker News search ({exc.__class__.__name__})") from None
        if response.status_code == 429:
            raise rate_limited("Hacker News search", response)
        if response.status_code >= 400:
            message = ""
            try:
                message = str(response.json().get("message", ""))[:300]
            except (ValueError, AttributeError):
                pass
            raise ConnectorError(f"Hacker News search answered {response.status_code}" + (f": {message}" if message else ""))
        return json_object("Hacker News search", response, "search_by_date")

    def _mention(self, hit: Any) -> Mention | None:
        if not isinstance(hit, dict):
            raise BadPayload("Hacker News hit is not an object")
        missing = [f for f in ("objectID", "author", "created_at_i") if hit.get(f) is None]
        if missing:
            raise BadPayload(f"Hacker News hit {hit.get('objectID', '?')} lacks {', '.join(missing)}")
        tags = hit.get("_tags") or []
        is_comment = "comment" in tags or hit.get("comment_text") is not None
        if is_comment:
            text = html_to_text(str(hit.get("comment_text") or ""))
        else:
            body = html_to_text(str(hit.get("story_text") or ""))
            text = "\n\n".join(filter(None, (str(hit.get("title") or ""), body)))
        if not text:
            return None  # deleted or dead items come back empty
        try:
            created_at = datetime.fromtimestamp(int(hit["created_at_i"]), tz=timezone.utc)
        except (TypeError, ValueError, OverflowError):
            raise BadPayload(f"Hacker News hit {hit['objectID']} has an unreadable created_at_i") from None
        story_id, parent_id = hit.get("story_id"), hit.get("parent_id")
        return Mention(
            platform=self.name,
            external_id=str(hit["objectID"]),
            text=text,
            created_at=created_at,
            url=HN_ITEM_URL + str(hit["objectID"]),
            author_handle=str(hit["author"]),
            thread_id=str(story_id) if story_id is not None else None,
            parent_id=str(parent_id) if is_comment and parent_id is not None else None,
            replyable=False,
            raw={"source": "comment" if is_comment else "story", **{k: v for k, v in hit.items() if not k.startswith("_highlight")}},
        )

    def reply(self, target: ReplyTarget, text: str, idempotency_key: str) -> PostedReply:
        raise ReplyNotAllowed(f"Hacker News has no API for posting; reply on the site: {HN_ITEM_URL}{target.external_id}")

    def close(self) -> None:
        self.session.close()
