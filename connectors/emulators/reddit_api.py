"""A Reddit API emulator: OAuth tokens, subreddit search and comment listings, the inbox's username
mentions, mark-read, posting comments, ``/api/info`` and submission threads.

Answers use Reddit's wire format: ``Listing`` objects whose ``children`` are ``{kind, data}`` things
(``t1_`` comments, ``t3_`` submissions), ``after``/``before`` cursors that behave like reddit.com's
(``before`` returns the items just newer than the anchor), and ``x-ratelimit-used/remaining/reset``
headers where reset is seconds from now.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from connectors.emulators.corpus import MentionStream
from connectors.emulators.query import BadQuery, Matcher, parse, word_pattern
from connectors.emulators.server import EmulatorState, Fault, RateWindows, Request, Response, truncated

# Subreddits where each language's posts appear; the brand's own subreddit gets some of each.
SUBREDDITS_BY_LANG = {
    "en": ("technology", "gadgets", "CustomerService"),
    "es": ("mexico", "spain"),
    "fr": ("france",),
    "pt": ("brasil",),
    "de": ("de",),
    "ar": ("arabs",),
    "hi": ("india",),
    "ta": ("tamil",),
    "km": ("cambodia",),
    "id": ("indonesia",),
}
MAX_LISTING_LIMIT = 100


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while number:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
    return out or "0"


@dataclass
class Thing:
    kind: str  # "t1" comment, "t3" submission
    id: str
    author: str
    subreddit: str
    created_utc: float
    text: str  # comment body or submission selftext
    title: str = ""  # submissions only
    link_id: str = ""  # comments: the submission's fullname
    parent_id: str = ""  # comments: the parent's fullname
    locked: bool = False
    score: int = 1

    @property
    def fullname(self) -> str:
        return f"{self.kind}_{self.id}"

    @property
    def order(self) -> int:
        return int(self.id, 36)


@dataclass
class _Token:
    username: str | None  # None: app-only (client_credentials)
    expires_at: float


@dataclass
class _InboxEntry:
    comment: Thing
    unread: bool = True


@dataclass
class RedditAccount:
    username: str
    password: str
    refresh_token: str
    inbox: dict[str, _InboxEntry] = field(default_factory=dict)


class RedditEmulator(EmulatorState):
    """State plus request handling; ``__call__`` is the HTTP app (serving both oauth and www URLs)."""

    def __init__(
        self,
        *,
        seed: int,
        brand_name: str,
        brand_username: str,
        client_id: str,
        client_secret: str,
        password: str,
        refresh_token: str,
        backlog: int = 120,
        backlog_end: datetime | None = None,
        # Generous by default: prawcore spaces requests out to fit the window, which would
        # otherwise slow tests down; a small limit exercises the real pacing and 429s.
        rate_limit: int = 1_000_000,
        rate_window_seconds: float = 600.0,
    ) -> None:
        self.brand_name = brand_name
        self.client_id, self.client_secret = client_id, client_secret
        self.brand = RedditAccount(brand_username, password, refresh_token)
        super().__init__(RateWindows(rate_limit, rate_window_seconds))
        self.stream = MentionStream(seed)
        self._lock = threading.RLock()
        self._things: dict[str, Thing] = {}  # by fullname, in creation order
        self._tokens: dict[str, _Token] = {}
        self._threads: dict[str, Thing] = {}  # subreddit -> its general discussion submission
        self._next_number = 0
        self._last_id = 0
        end = backlog_end or datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
        start = end - timedelta(seconds=83 * (backlog + 1))
        subreddits = sorted({s for subs in SUBREDDITS_BY_LANG.values() for s in subs} | {brand_name.lower()})
        for i, subreddit in enumerate(subreddits):
            self._threads[subreddit] = self._add(
                "t3", "AutoModerator", subreddit, start.timestamp() + i / 10,
                "Share anything on your mind today.", title="Daily discussion thread",
            )
        for i in range(backlog):
            self._add_generated((start + timedelta(seconds=83 * (i + 1))).timestamp())

    # -- state ---------------------------------------------------------------------------------

    def _add(self, kind: str, author: str, subreddit: str, created: float, text: str, *, title: str = "",
             parent: Thing | None = None) -> Thing:
        with self._lock:
            # Ids grow with time, as reddit's do, so an id from an earlier run still orders correctly.
            self._last_id = max(int(created * 1000) * 64, self._last_id + 1)
            thing_id = _base36(self._last_id)
            link = parent if parent is None or parent.kind == "t3" else self._things[parent.link_id]
            thing = Thing(kind, thing_id, author, subreddit, created, text, title=title,
                          link_id=link.fullname if link else "", parent_id=parent.fullname if parent else "")
            self._things[thing.fullname] = thing
            if kind == "t1" and re.search(rf"(?<!\w)/?u/{re.escape(self.brand.username)}(?!\w)", text, re.IGNORECASE):
                self.brand.inbox[thing.fullname] = _InboxEntry(thing)
            return thing

    def _add_generated(self, created: float) -> Thing:
        number = self._next_number
        self._next_number += 1
        post = self.stream.post(number)
        text = post.render(self.brand_name, "u/" + self.brand.username)
        choices = SUBREDDITS_BY_LANG[post.lang]
        subreddit = self.brand_name.lower() if number % 9 == 0 else choices[number % len(choices)]
        if number % 3 == 0:  # a third start their own thread, the rest comment in one
            title = text if len(text) <= 80 else text[:77] + "..."
            return self._add("t3", post.author.username, subreddit, created, text, title=title)
        return self._add("t1", post.author.username, subreddit, created, text, parent=self._threads[subreddit])

    def add_posts(self, count: int = 1) -> list[str]:
        """Publish the stream's next ``count`` posts (submissions or comments) now; returns fullnames."""
        with self._lock:
            return [self._add_generated(time.time()).fullname for _ in range(count)]

    def add_comment(self, text: str, *, subreddit: str = "technology", author: str = "casual_user",
                    parent: str | None = None) -> str:
        """Post a comment now (in ``subreddit``'s discussion thread unless ``parent`` is given)."""
        with self._lock:
            parent_thing = self._things[parent] if parent else self._threads[subreddit.lower()]
            return self._add("t1", author, parent_thing.subreddit, time.time(), text, parent=parent_thing).fullname

    def add_submission(self, title: str, text: str = "", *, subreddit: str = "technology",
                       author: str = "casual_user") -> str:
        with self._lock:
            return self._add("t3", author, subreddit.lower(), time.time(), text, title=title).fullname

    def lock(self, fullname: str) -> None:
        with self._lock:
            self._things[fullname].locked = True

    def delete(self, fullname: str) -> None:
        """Remove a thing, as a moderator or spam filter would (listings no longer show it)."""
        with self._lock:
            del self._things[fullname]
            self.brand.inbox.pop(fullname, None)

    def replies_to(self, fullname: str) -> list[dict[str, Any]]:
        """Direct replies to ``fullname``, oldest first."""
        with self._lock:
            return [{"name": t.fullname, "body": t.text, "author": t.author}
                    for t in self._things.values() if t.kind == "t1" and t.parent_id == fullname]

    def unread_mentions(self) -> list[str]:
        with self._lock:
            return [name for name, entry in self.brand.inbox.items() if entry.unread]

    # -- rendering -------------------------------------------------------------------------------

    def _permalink(self, thing: Thing) -> str:
        link = thing if thing.kind == "t3" else self._things.get(thing.link_id)
        link_id = link.id if link else thing.link_id[3:]
        slug = re.sub(r"\W+", "_", (link.title if link else "").lower()).strip("_")[:50] or "_"
        suffix = f"{thing.id}/" if thing.kind == "t1" else ""
        return f"/r/{thing.subreddit}/comments/{link_id}/{slug}/{suffix}"

    def _common(self, thing: Thing) -> dict[str, Any]:
        return {
            "id": thing.id, "name": thing.fullname, "author": thing.author,
            "author_fullname": "t2_" + _base36(int(hashlib.sha1(thing.author.encode()).hexdigest()[:10], 16)),
            "subreddit": thing.subreddit, "subreddit_id": "t5_" + _base36(sum(map(ord, thing.subreddit)) * 7919),
            "subreddit_name_prefixed": f"r/{thing.subreddit}", "subreddit_type": "public",
            "created": thing.created_utc, "created_utc": thing.created_utc,
            "score": thing.score, "ups": thing.score, "downs": 0, "likes": None, "saved": False,
            "locked": thing.locked, "archived": False, "stickied": False, "distinguished": None, "edited": False,
            "permalink": self._permalink(thing), "send_replies": True, "total_awards_received": 0,
            "mod_reports": [], "user_reports": [], "approved_at_utc": None, "banned_by": None,
        }

    def _render(self, thing: Thing, *, with_link: bool = False, depth: int | None = None) -> dict[str, Any]:
        data = self._common(thing)
        if thing.kind == "t3":
            data.update({
                "title": thing.title, "selftext": thing.text, "selftext_html": f"<div class=\"md\"><p>{_html(thing.text)}</p></div>",
                "is_self": True, "domain": f"self.{thing.subreddit}", "url": "https://www.reddit.com" + self._permalink(thing),
                "num_comments": sum(1 for t in self._things.values() if t.link_id == thing.fullname),
                "over_18": False, "spoiler": False, "thumbnail": "self", "upvote_ratio": 1.0, "link_flair_text": None,
            })
        else:
            link = self._things.get(thing.link_id)
            data.update({
                "body": thing.text, "body_html": f"<div class=\"md\"><p>{_html(thing.text)}</p></div>",
                "link_id": thing.link_id, "parent_id": thing.parent_id, "is_submitter": bool(link and link.author == thing.author),
                "controversiality": 0, "score_hidden": False, "collapsed": False, "replies": "",
            })
            if with_link and link:
                data.update({"link_title": link.title, "link_author": link.author,
                             "link_permalink": "https://www.reddit.com" + self._permalink(link), "link_url": link_url(link)})
            if depth is not None:
                data["depth"] = depth
                children = [t for t in self._things.values() if t.kind == "t1" and t.parent_id == thing.fullname]
                if children:
                    data["replies"] = self._listing([{"kind": "t1", "data": self._render(c, depth=depth + 1)} for c in children], None, None)
        return data

    def _render_mention(self, entry: _InboxEntry) -> dict[str, Any]:
        """An inbox item as Reddit sends one: message-shaped, so the comment's thread and link are only in
        ``context`` (no permalink, link_id, locked or archived)."""
        thing = entry.comment
        link = self._things.get(thing.link_id)
        common = self._common(thing)
        data = {key: common[key] for key in ("id", "name", "author", "author_fullname", "subreddit",
                                             "subreddit_name_prefixed", "created", "created_utc", "score", "likes",
                                             "distinguished")}
        data.update({
            "first_message": None, "first_message_name": None, "subject": "username mention", "type": "username_mention",
            "new": entry.unread, "was_comment": True, "dest": self.brand.username, "associated_awarding_id": None,
            "link_title": link.title if link else "", "num_comments": 1, "replies": "",
            "body": thing.text, "body_html": f"<div class=\"md\"><p>{_html(thing.text)}</p></div>",
            "parent_id": thing.parent_id, "context": f"{self._permalink(thing)}?context=3",
        })
        return data

    @staticmethod
    def _listing(children: list[dict[str, Any]], after: str | None, before: str | None) -> dict[str, Any]:
        return {"kind": "Listing", "data": {"after": after, "dist": len(children), "modhash": None, "geo_filter": "",
                                            "children": children, "before": before}}

    def _page(self, request: Request, items: list[Thing]) -> tuple[list[Thing], str | None, str | None] | Response:
        """Reddit's cursor rules over ``items`` (newest first): ``after`` pages older, ``before`` newer."""
        try:
            limit = min(max(int(request.query.get("limit", "25")), 1), MAX_LISTING_LIMIT)
        except ValueError:
            return Response(400, {"message": "Bad Request", "error": 400})
        names = [t.fullname for t in items]
        before, after = request.query.get("before"), request.query.get("after")
        if before:  # like reddit.com, `before` wins when both are given
            if before not in names:
                return [], None, None  # the anchor is gone (deleted, removed): reddit returns nothing
            index = names.index(before)
            window = items[max(0, index - limit):index]
            return window, (window[-1].fullname if window else None), (window[0].fullname if index - limit > 0 and window else None)
        start = names.index(after) + 1 if after in names else (len(items) if after else 0)
        window = items[start:start + limit]
        more_older = start + limit < len(items)
        return window, (window[-1].fullname if more_older and window else None), (window[0].fullname if start > 0 and window else None)

    # -- endpoints --------------------------------------------------------------------------------

    def _subreddits(self, spec: str) -> set[str] | None:
        names = {s.lower() for s in spec.split("+") if s}
        return None if "all" in names else names

    def _newest_first(self, kind: str, subreddits: set[str] | None) -> list[Thing]:
        return sorted((t for t in self._things.values() if t.kind == kind and (subreddits is None or t.subreddit.lower() in subreddits)),
                      key=lambda t: t.order, reverse=True)

    def _search(self, request: Request, spec: str) -> Response:
        query = request.query.get("q", "")
        try:
            matcher = parse(query, _search_atom, lucene=True)
        except BadQuery:
            return Response(400, {"message": "Bad Request", "error": 400})
        restrict = request.query.get("restrict_sr", "").lower() in ("1", "true", "on")
        with self._lock:
            items = [t for t in self._newest_first("t3", self._subreddits(spec) if restrict else None) if matcher(t)]
            if request.query.get("sort", "relevance") == "top":
                items.sort(key=lambda t: t.score, reverse=True)
            page = self._page(request, items)
            if isinstance(page, Response):
                return page
            window, after, before = page
            return Response(200, self._listing([{"kind": "t3", "data": self._render(t)} for t in window], after, before))

    def _comments(self, request: Request, spec: str) -> Response:
        with self._lock:
            page = self._page(request, self._newest_first("t1", self._subreddits(spec)))
            if isinstance(page, Response):
                return page
            window, after, before = page
            return Response(200, self._listing([{"kind": "t1", "data": self._render(t, with_link=True)} for t in window], after, before))

    def _mentions(self, request: Request) -> Response:
        with self._lock:
            entries = sorted(self.brand.inbox.values(), key=lambda e: e.comment.order, reverse=True)
            page = self._page(request, [e.comment for e in entries])
            if isinstance(page, Response):
                return page
            window, after, before = page
            return Response(200, self._listing(
                [{"kind": "t1", "data": self._render_mention(self.brand.inbox[t.fullname])} for t in window], after, before))

    def _read_message(self, request: Request) -> Response:
        with self._lock:
            for name in request.form().get("id", "").split(","):
                if name in self.brand.inbox:
                    self.brand.inbox[name].unread = False
        return Response(200, {})

    def _comment(self, request: Request) -> Response:
        form = request.form()
        text, thing_id = form.get("text", ""), form.get("thing_id", "")
        with self._lock:
            parent = self._things.get(thing_id)
            if parent is None:
                return _api_error("INVALID_PARENT", "that parent doesn't exist", "parent")
            locked_link = self._things.get(parent.link_id)
            if parent.locked or (locked_link is not None and locked_link.locked):
                return _api_error("THREAD_LOCKED", "Comments are locked.", "parent")
            if not text.strip():
                return _api_error("NO_TEXT", "we need something here", "text")
            if len(text) > 10_000:
                return _api_error("TOO_LONG", "this is too long (max: 10000)", "text")
            reply = self._add("t1", self.brand.username, parent.subreddit, time.time(), text, parent=parent)
            return Response(200, {"json": {"errors": [], "data": {"things": [{"kind": "t1", "data": self._render(reply)}]}}})

    def _info(self, request: Request) -> Response:
        with self._lock:
            things = [self._things[n] for n in request.query.get("id", "").split(",") if n in self._things]
            return Response(200, self._listing([{"kind": t.kind, "data": self._render(t)} for t in things], None, None))

    def _thread(self, article: str) -> Response:
        with self._lock:
            link = self._things.get(f"t3_{article}")
            if link is None:
                return Response(404, {"message": "Not Found", "error": 404})
            top = [t for t in self._things.values() if t.kind == "t1" and t.parent_id == link.fullname]
            return Response(200, [
                self._listing([{"kind": "t3", "data": self._render(link)}], None, None),
                self._listing([{"kind": "t1", "data": self._render(c, depth=0)} for c in top], None, None),
            ])

    def _access_token(self, request: Request) -> Response:
        expected = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        if request.headers.get("authorization") != f"Basic {expected}":
            return Response(401, {"message": "Unauthorized", "error": 401})
        form = request.form()
        grant = form.get("grant_type")
        if grant == "password":
            if form.get("username") != self.brand.username or form.get("password") != self.brand.password:
                return Response(200, {"error": "invalid_grant"})
            username: str | None = self.brand.username
        elif grant == "refresh_token":
            if form.get("refresh_token") != self.brand.refresh_token:
                return Response(200, {"error": "invalid_grant"})
            username = self.brand.username
        elif grant == "client_credentials":
            username = None
        else:
            return Response(200, {"error": "unsupported_grant_type"})
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._tokens[token] = _Token(username, time.time() + 86400)
        return Response(200, {"access_token": token, "token_type": "bearer", "expires_in": 86400, "scope": "*"})

    def _route(self, request: Request, user: str | None) -> Response:
        path, method = request.path.rstrip("/"), request.method
        if method == "GET" and (m := re.fullmatch(r"/r/([\w+]+)/search", path)):
            return self._search(request, m.group(1))
        if method == "GET" and (m := re.fullmatch(r"/r/([\w+]+)/comments", path)):
            return self._comments(request, m.group(1))
        if method == "GET" and (m := re.fullmatch(r"/comments/(\w+)(?:/[^/]*)?", path)):
            return self._thread(m.group(1))
        if method == "GET" and path == "/api/info":
            return self._info(request)
        if user is None and (path.startswith("/message") or path in ("/api/read_message", "/api/comment", "/api/v1/me")):
            return Response(403, {"message": "Forbidden", "error": 403})
        if method == "GET" and path == "/message/mentions":
            return self._mentions(request)
        if method == "POST" and path == "/api/read_message":
            return self._read_message(request)
        if method == "POST" and path == "/api/comment":
            return self._comment(request)
        if method == "GET" and path == "/api/v1/me":
            return Response(200, {"name": user, "id": "1brand", "created_utc": 1_500_000_000.0, "link_karma": 1, "comment_karma": 1})
        return Response(404, {"message": "Not Found", "error": 404})

    def __call__(self, request: Request) -> Response:
        self.requests_served += 1
        if request.path.rstrip("/") == "/api/v1/access_token":
            return self._access_token(request)
        header = request.headers.get("authorization", "")
        token = self._tokens.get(header[7:]) if header.lower().startswith("bearer ") else None
        if token is None or token.expires_at < time.time():
            return Response(401, {"message": "Unauthorized", "error": 401},
                            {"www-authenticate": 'Bearer realm="reddit", error="invalid_token"'})
        fault = self.faults.take(request.path)
        window, allowed = self.windows.hit(token.username or "app")
        reset = max(0, int(window.reset_at - time.time()))
        if fault and fault.kind == "rate_limit":
            window.remaining, window.used, reset, allowed = 0, window.limit, int(fault.retry_after), False
        headers = {"x-ratelimit-used": str(window.used), "x-ratelimit-remaining": f"{float(window.remaining):.1f}",
                   "x-ratelimit-reset": str(reset)}
        if not allowed:
            response = Response(429, {"message": "Too Many Requests", "error": 429})
        elif fault and fault.kind == "server_error":
            response = Response(fault.status, {"message": "Service Unavailable", "error": fault.status})
        else:
            response = self._route(request, token.username)
            if fault:
                response = _apply_payload_fault(response, fault)
        response.headers.update(headers)
        return response


def link_url(link: Thing) -> str:
    return f"https://www.reddit.com/r/{link.subreddit}/comments/{link.id}/"


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _api_error(code: str, message: str, field_name: str) -> Response:
    return Response(200, {"json": {"errors": [[code, message, field_name]]}})


def _search_atom(token: str) -> Matcher[Thing]:
    if token.startswith('"'):
        pattern = word_pattern(token[1:-1])
        return lambda t: pattern.search(t.title) is not None or pattern.search(t.text) is not None
    key, colon, value = token.partition(":")
    if colon and key.lower() in ("title", "selftext", "author", "subreddit"):
        value_pattern = word_pattern(value.strip('"'))
        fields = {"title": lambda t: t.title, "selftext": lambda t: t.text,
                  "author": lambda t: t.author, "subreddit": lambda t: t.subreddit}
        get = fields[key.lower()]
        if key.lower() in ("author", "subreddit"):
            return lambda t: get(t).lower() == value.lower()
        return lambda t: value_pattern.search(get(t)) is not None
    pattern = word_pattern(token)
    return lambda t: pattern.search(t.title) is not None or pattern.search(t.text) is not None


def _apply_payload_fault(response: Response, fault: Fault) -> Response:
    if fault.kind == "malformed_json":
        return truncated(response)
    # missing_fields: things lose the fields a client needs to place them.
    payload = response.payload
    if isinstance(payload, dict) and payload.get("kind") == "Listing":
        for child in payload["data"]["children"]:
            child["data"].pop("created_utc", None)
            child["data"].pop("created", None)
            child["data"].pop("author", None)
    return response
