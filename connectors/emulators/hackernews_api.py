"""An emulator of the Algolia Hacker News Search API (``hn.algolia.com/api/v1``): ``search_by_date``.

It answers in Algolia's wire format: ``hits`` (stories with ``title``/``url``/``story_text``,
comments with ``comment_text``/``story_id``/``parent_id``/``story_title``, both with ``objectID``,
``author``, ``created_at``/``created_at_i``, ``_tags``), ``nbHits``, ``page``, ``nbPages``,
``hitsPerPage``, ``params`` and errors as ``{"message", "status"}``. It understands ``query``
(all words must match; with ``advancedSyntax`` ``"phrases"`` and ``-excluded`` words; words listed
in ``optionalWords`` make the query match when any one of them does), ``tags`` (comma = AND,
parenthesised comma list = OR), ``numericFilters`` on ``created_at_i``/``points``/``num_comments``,
``page`` and ``hitsPerPage`` (≤ 1000, and like Algolia only the first 1000 hits can be paged to).
``delete_item`` takes an item out of the index, as Algolia does with a deleted or [dead] comment.
Typo tolerance and prefix matching are not emulated. The API is read-only and has no auth; Algolia
allows 10,000 requests an hour per IP and answers 429 past it.
"""

from __future__ import annotations

import html
import math
import re
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlencode

from connectors.emulators.corpus import MentionStream
from connectors.emulators.query import word_pattern
from connectors.emulators.server import EmulatorState, Fault, RateWindows, Request, Response, truncated

PAGINATION_LIMIT = 1000  # Algolia's paginationLimitedTo on the HN index
FIRST_ITEM_ID = 41_000_000
_NUMERIC = re.compile(r"^(created_at_i|points|num_comments)(<=|>=|<|>|=|!=)(-?\d+)$")
_OPS = {
    "<": lambda a, b: a < b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b, "=": lambda a, b: a == b, "!=": lambda a, b: a != b,
}


@dataclass
class Item:
    id: int
    kind: str  # "story" | "comment"
    author: str
    created_at: datetime
    text: str  # story title, or the comment's plain text
    story_id: int
    parent_id: int | None = None
    url: str | None = None
    story_text: str | None = None
    points: int = 1
    num_comments: int = 0

    @property
    def created_at_i(self) -> int:
        return int(self.created_at.timestamp())

    def tags(self) -> list[str]:
        return [self.kind, f"author_{self.author}", f"story_{self.story_id}"]


def _error(status: int, message: str) -> Response:
    return Response(status, {"message": message, "status": status})


def _iso(at: datetime) -> str:
    return at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


class HackerNewsEmulator(EmulatorState):
    def __init__(self, *, seed: int, brand_name: str, backlog: int = 120, backlog_end: datetime | None = None,
                 rate_limit: int = 10_000, rate_window_seconds: float = 3600.0) -> None:
        super().__init__(RateWindows(rate_limit, rate_window_seconds))
        self.brand_name = brand_name
        self.stream = MentionStream(seed)
        self._lock = threading.RLock()
        self._items: list[Item] = []  # oldest first
        self._by_id: dict[int, Item] = {}
        self._next_number = 0
        end = backlog_end or datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
        start = end - timedelta(seconds=97 * backlog)
        for i in range(backlog):
            self._add_generated(start + timedelta(seconds=97 * i))

    # -- state ---------------------------------------------------------------------------------

    def _add(self, item: Item) -> Item:
        with self._lock:
            self._items.append(item)
            self._by_id[item.id] = item
            if item.kind == "comment":
                self._by_id[item.story_id].num_comments += 1
            return item

    def _new_id(self) -> int:
        return FIRST_ITEM_ID + len(self._by_id)  # deleted items keep their ids

    def _add_generated(self, at: datetime) -> Item:
        with self._lock:
            number = self._next_number
            self._next_number += 1
            post = self.stream.post(number)
            text = post.render(self.brand_name, self.brand_name)  # HN has no @mentions
            stories = [i for i in self._items[-40:] if i.kind == "story"]
            # Every third item is a story; the rest are comments in the latest stories' threads.
            if number % 3 == 0 or not stories:
                url = None if number % 2 else f"https://news.example.com/{number}"
                return self._add(Item(self._new_id(), "story", post.author.username, at, text, self._new_id(),
                                      url=url, story_text=None if url else f"<p>{html.escape(text)}</p>",
                                      points=number * 7 % 90 + 1))
            story = stories[number % len(stories)]
            thread = [i for i in self._items if i.story_id == story.id and i.kind == "comment"]
            parent = thread[-1].id if thread and number % 2 else story.id
            return self._add(Item(self._new_id(), "comment", post.author.username, at, text, story.id, parent))

    def add_posts(self, count: int = 1) -> list[str]:
        """Publish the stream's next ``count`` items now; returns their ids."""
        now = datetime.now(timezone.utc)
        return [str(self._add_generated(now).id) for _ in range(count)]

    def add_comment(self, text: str, *, author: str = "hn_user", story_id: str | None = None,
                    created_at: datetime | None = None) -> str:
        """A comment, searchable from now on; ``created_at`` backdates it (as Algolia indexes items late)."""
        with self._lock:
            story = self._by_id[int(story_id)] if story_id else next(i for i in reversed(self._items) if i.kind == "story")
            at = created_at or datetime.now(timezone.utc)
            return str(self._add(Item(self._new_id(), "comment", author, at, text, story.id, story.id)).id)

    def delete_item(self, item_id: str) -> None:
        """Take an item out of the index, as Algolia does with a comment its author deleted or one flagged [dead]."""
        with self._lock:  # still in _by_id, so its comments keep their story's title
            self._items = [i for i in self._items if i.id != int(item_id)]

    def add_story(self, title: str, *, author: str = "hn_user", url: str | None = None) -> str:
        with self._lock:
            item_id = self._new_id()
            return str(self._add(Item(item_id, "story", author, datetime.now(timezone.utc), title, item_id, url=url)).id)

    # -- rendering ------------------------------------------------------------------------------

    def _hit(self, item: Item) -> dict[str, Any]:
        hit: dict[str, Any] = {
            "_tags": item.tags(),
            "author": item.author,
            "created_at": _iso(item.created_at),
            "created_at_i": item.created_at_i,
            "objectID": str(item.id),
            "story_id": item.story_id,
            "updated_at": _iso(item.created_at),
        }
        if item.kind == "story":
            hit.update(title=item.text, url=item.url, points=item.points, num_comments=item.num_comments,
                       children=[i.id for i in self._items if i.parent_id == item.id])
            if item.story_text is not None:
                hit["story_text"] = item.story_text
        else:
            story = self._by_id[item.story_id]
            hit.update(comment_text=f"<p>{html.escape(item.text)}</p>", parent_id=item.parent_id,
                       story_title=story.text, story_url=story.url, points=None)
        hit["_highlightResult"] = {"author": {"value": item.author, "matchLevel": "none", "matchedWords": []}}
        return hit

    # -- search ---------------------------------------------------------------------------------

    @staticmethod
    def _text_matcher(query: str, advanced: bool, optional: set[str]) -> Any:
        terms = re.findall(r'(-?)("[^"]*"|\S+)', query)
        required, optional_terms, excluded = [], [], []
        for negated, token in terms:
            phrase = token.startswith('"') and advanced
            word = token.strip('"') if phrase or not advanced else token
            if not word.strip():
                continue
            pattern = word_pattern(word)
            if negated and advanced:
                excluded.append(pattern)
            elif word.lower() in optional or token.lower() in optional:
                optional_terms.append(pattern)
            else:
                required.append(pattern)

        def matches(text: str) -> bool:
            if any(p.search(text) for p in excluded) or not all(p.search(text) for p in required):
                return False
            # Algolia: when every word is optional, a record must still match one of them.
            return not optional_terms or bool(required) or any(p.search(text) for p in optional_terms)

        return matches

    @staticmethod
    def _tag_matcher(tags: str) -> Any:
        groups = [g.strip("()").split(",") for g in re.findall(r"\([^)]*\)|[^,]+", tags) if g.strip()]
        return lambda item_tags: all(any(t.strip() in item_tags for t in group) for group in groups)

    def _search(self, request: Request) -> Response:
        q = request.query
        try:
            hits_per_page = int(q.get("hitsPerPage", "20"))
            page = int(q.get("page", "0"))
        except ValueError:
            return _error(400, "Invalid value for \"hitsPerPage\"/\"page\" parameter, expected integer")
        if not 0 <= hits_per_page <= PAGINATION_LIMIT or page < 0:
            return _error(400, f"hitsPerPage must be between 0 and {PAGINATION_LIMIT}, page must be positive")
        numeric = []
        for condition in filter(None, (c.strip() for c in q.get("numericFilters", "").split(","))):
            found = _NUMERIC.match(condition.replace(" ", ""))
            if not found:
                return _error(400, f"invalid numeric filter: {condition}")
            numeric.append((found.group(1), _OPS[found.group(2)], int(found.group(3))))
        advanced = q.get("advancedSyntax", "false").lower() == "true"
        optional = {w.strip().lower() for w in q.get("optionalWords", "").split(",") if w.strip()}
        text_ok = self._text_matcher(q.get("query", ""), advanced, optional)
        tags_ok = self._tag_matcher(q.get("tags", ""))
        with self._lock:
            found_items = []
            # search_by_date: newest created first (a backdated item sorts below newer ones; ties: last added first)
            for item in sorted(reversed(self._items), key=lambda i: i.created_at, reverse=True):
                values = {"created_at_i": item.created_at_i, "points": item.points, "num_comments": item.num_comments}
                searchable = " ".join(filter(None, (item.text, item.url, item.author, item.story_text)))
                if all(op(values[f], v) for f, op, v in numeric) and tags_ok(item.tags()) and text_ok(searchable):
                    found_items.append(item)
            reachable = found_items[:PAGINATION_LIMIT]
            page_items = reachable[page * hits_per_page:(page + 1) * hits_per_page] if hits_per_page else []
            hits = [self._hit(i) for i in page_items]
        return Response(200, {
            "exhaustive": {"nbHits": True, "typo": True},
            "exhaustiveNbHits": True,
            "exhaustiveTypo": True,
            "hits": hits,
            "hitsPerPage": hits_per_page,
            "nbHits": len(found_items),
            "nbPages": math.ceil(len(reachable) / hits_per_page) if hits_per_page else 0,
            "page": page,
            "params": urlencode(q),
            "processingTimeMS": 1,
            "query": q.get("query", ""),
            "serverTimeMS": 2,
        })

    def __call__(self, request: Request) -> Response:
        self.requests_served += 1
        fault = self.faults.take(request.path)
        _, allowed = self.windows.hit("ip")
        if not allowed or (fault and fault.kind == "rate_limit"):
            return _error(429, "Too many requests")
        if fault and fault.kind == "server_error":
            return _error(fault.status, "Service Unavailable")
        path = request.path.rstrip("/")
        if request.method != "GET":
            return _error(404, "Not Found")
        if path == "/api/v1/search_by_date":
            response = self._search(request)
        else:
            return _error(404, "Not Found")
        return self._apply_payload_fault(response, fault) if fault else response

    @staticmethod
    def _apply_payload_fault(response: Response, fault: Fault) -> Response:
        if fault.kind == "malformed_json":
            return truncated(response)
        for hit in response.payload.get("hits", []):  # missing_fields
            for name in ("created_at_i", "created_at", "author"):
                hit.pop(name, None)
        return response
