"""A Mastodon instance emulator: v2 search, hashtag timelines, mention notifications, posting replies.

Wire format as in the Mastodon API docs: ``Status`` objects (``id``, ``created_at``, ``account``
with ``acct``/``followers_count``, HTML ``content``, ``visibility``, ``language``,
``in_reply_to_id``, ``mentions``, ``tags``), ``Notification`` objects, ``min_id``/``max_id``/
``since_id``/``limit`` paging with ``Link`` headers, errors as ``{"error": …}`` (401, 404, 422),
``X-RateLimit-Limit/Remaining/Reset`` (ISO 8601) on every answer and 429 past the quota (Mastodon:
300 requests per 5 minutes per account), and ``Idempotency-Key`` on ``POST /api/v1/statuses``.
With ``ulid_ids`` set it answers with ids as GoToSocial does (26 sortable characters, not numbers).
Ids are Mastodon's snowflakes, made from a status's own time: one delivered late (``published=``) sorts below
ids already served. Search drops muted accounts' statuses after paging, as Mastodon's does, so a page may hold
fewer than ``limit`` with more matches below it.
"""

from __future__ import annotations

import bisect
import html
import re
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from connectors.emulators.corpus import MentionStream
from connectors.emulators.query import BadQuery, Matcher, parse, word_pattern
from connectors.emulators.server import EmulatorState, Fault, RateWindows, Request, Response, truncated

DOMAIN = "mastodon.example"
MAX_STATUS_CHARS = 500
_MENTION = re.compile(r"(?<![\w/])@(\w+)(?:@([\w.-]+))?")
_HASHTAG = re.compile(r"(?<!\w)#(\w+)")


@dataclass
class Account:
    id: str
    username: str
    display_name: str
    followers: int
    domain: str | None = None  # None: a local account

    @property
    def acct(self) -> str:
        return self.username if self.domain is None else f"{self.username}@{self.domain}"


@dataclass
class Status:
    id: int
    account: Account
    text: str
    created_at: datetime
    language: str
    visibility: str = "public"
    in_reply_to_id: int | None = None
    mentions: list[Account] = field(default_factory=list)
    spoiler_text: str = ""  # the content warning, plain text shown before the post

    @property
    def searchable_text(self) -> str:
        """What full-text search reads: the content warning and the post (Mastodon's ``searchable_text``)."""
        return f"{self.spoiler_text}\n\n{self.text}"


def _iso(at: datetime) -> str:
    return at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def _error(status: int, message: str) -> Response:
    return Response(status, {"error": message})


class MastodonEmulator(EmulatorState):
    def __init__(self, *, seed: int, brand_name: str, brand_username: str, access_token: str, backlog: int = 120,
                 backlog_end: datetime | None = None, rate_limit: int = 300, rate_window_seconds: float = 300.0) -> None:
        super().__init__(RateWindows(rate_limit, rate_window_seconds))
        self.brand_name, self.access_token = brand_name, access_token
        self.stream = MentionStream(seed)
        self._lock = threading.RLock()
        self._accounts: dict[str, Account] = {}
        self._statuses: dict[int, Status] = {}
        self._ids: list[int] = []  # ascending
        self._idempotent: dict[str, int] = {}
        self._next_number = 0
        self.ulid_ids = False  # ids on the wire as GoToSocial's ULIDs instead of Mastodon's numeric snowflakes
        self.muted: set[str] = set()  # accts the brand account muted (or blocked, or a moderator limited)
        self.brand = self._account(brand_username, brand_name, 9_300)
        end = backlog_end or datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
        start = end - timedelta(seconds=97 * backlog)
        for i in range(backlog):
            self._add_generated(start + timedelta(seconds=97 * i))

    # -- state ---------------------------------------------------------------------------------

    def _account(self, username: str, display_name: str, followers: int, domain: str | None = None) -> Account:
        account = Account(str(100_000 + len(self._accounts)), username, display_name, followers, domain)
        return self._accounts.setdefault(account.acct.lower(), account)

    def _add(self, account: Account, text: str, at: datetime, lang: str, *, visibility: str = "public",
             in_reply_to: int | None = None, spoiler_text: str = "", delivered_late: bool = False) -> Status:
        """A status written ``at``, with Mastodon's snowflake id of that time (``Snowflake.id_at``). One arriving
        now is newer than every id served (the backlog may end after the clock); one ``delivered_late`` (a remote
        post, a status fetched for a thread) keeps the id of its own time, below newer ones."""
        with self._lock:
            status_id = int(at.timestamp() * 1000) << 16 | (len(self._ids) & 0xFFFF)
            if not delivered_late:
                status_id = max(status_id, (self._ids[-1] + 1) if self._ids else 0)
            while status_id in self._statuses:
                status_id += 1
            mentioned = [self._accounts[(u + (f"@{d}" if d else "")).lower()]
                         for u, d in _MENTION.findall(text) if (u + (f"@{d}" if d else "")).lower() in self._accounts]
            status = Status(status_id, account, text, at, lang, visibility, in_reply_to, mentioned, spoiler_text)
            self._statuses[status_id] = status
            bisect.insort(self._ids, status_id)
            return status

    def _add_generated(self, at: datetime) -> Status:
        with self._lock:
            number = self._next_number
            self._next_number += 1
            post = self.stream.post(number)
            domain = None if number % 3 else "fosstodon.example"
            author = self._account(post.author.username, post.author.display_name, post.author.followers, domain)
            text = post.render(self.brand_name, "@" + self.brand.username)
            if number % 4 == 1 and post.kind != "unrelated":
                text += f" #{self.brand_name}"
            # Some mentions are private (direct) messages: they show only in notifications.
            visibility = "direct" if post.mentions_brand and number % 5 == 0 else "public"
            return self._add(author, text, at, post.lang, visibility=visibility)

    def add_posts(self, count: int = 1) -> list[str]:
        now = datetime.now(timezone.utc)
        return [self.wire_id(self._add_generated(now).id) for _ in range(count)]

    def add_status(self, text: str, *, username: str = "casual", domain: str | None = None, lang: str = "en",
                   visibility: str = "public", spoiler_text: str = "", published: datetime | None = None) -> str:
        """A post by a local account, or one of the instance ``domain``; ``spoiler_text`` puts it behind a content
        warning. With ``published`` it was written then and arrives now (a remote post delivered late, or
        fetched for a thread or a boost): its id is made from that time, so it may sort below ids already read."""
        with self._lock:
            author = self._account(username, username.title(), 42, domain)
            status = self._add(author, text, published or datetime.now(timezone.utc), lang, visibility=visibility,
                               spoiler_text=spoiler_text, delivered_late=published is not None)
            return self.wire_id(status.id)

    def mute(self, acct: str) -> None:
        """The brand account mutes ``acct``: its statuses leave the timelines and notifications before paging and
        search results after paging (Mastodon's StatusesSearchService filters the page it got)."""
        with self._lock:
            self.muted.add(acct.lower())

    def delete_status(self, status_id: str) -> None:
        """The author deletes it (or a moderator removes it): gone from search, timelines and notifications."""
        with self._lock:
            number = self._parse_id(status_id)
            del self._statuses[number]
            self._ids.remove(number)

    def forget_idempotency_keys(self) -> None:
        """What an hour does: Mastodon keeps an Idempotency-Key for 1 hour, then a POST with it posts anew."""
        with self._lock:
            self._idempotent.clear()

    def replies_to(self, status_id: str) -> list[dict[str, Any]]:
        """What the status's thread shows below it (``/api/v1/statuses/:id/context`` descendants)."""
        with self._lock:
            return [{"id": self.wire_id(s.id), "text": s.text, "author": s.account.acct, "visibility": s.visibility}
                    for s in (self._statuses[i] for i in self._ids) if s.in_reply_to_id == self._parse_id(status_id)]

    def wire_id(self, number: int) -> str:
        """The id as the API shows it: a number, or a ULID-like string that sorts the same way."""
        return "01" + format(number, "X").rjust(24, "0") if self.ulid_ids else str(number)

    def _parse_id(self, text: str) -> int:
        """The id a client sent back (ValueError if it is not one of ours)."""
        return int(text[2:], 16) if self.ulid_ids else int(text)

    # -- rendering ------------------------------------------------------------------------------

    def _render_account(self, account: Account) -> dict[str, Any]:
        host = account.domain or DOMAIN
        return {
            "id": account.id, "username": account.username, "acct": account.acct, "display_name": account.display_name,
            "locked": False, "bot": False, "discoverable": True, "group": False,
            "created_at": "2022-11-02T00:00:00.000Z", "note": "", "url": f"https://{host}/@{account.username}",
            "avatar": f"https://{DOMAIN}/avatars/original/missing.png", "header": f"https://{DOMAIN}/headers/original/missing.png",
            "followers_count": account.followers, "following_count": account.followers // 5 + 2,
            "statuses_count": 10 + account.followers % 500, "last_status_at": "2026-11-19", "emojis": [], "fields": [],
        }

    def _render(self, status: Status) -> dict[str, Any]:
        parent = self._statuses.get(status.in_reply_to_id) if status.in_reply_to_id else None
        home, wire_id = f"https://{status.account.domain or DOMAIN}", self.wire_id(status.id)
        content = _HASHTAG.sub(lambda m: f'<a href="https://{DOMAIN}/tags/{m.group(1).lower()}" class="mention hashtag" rel="tag">#<span>{m.group(1)}</span></a>',
                               html.escape(status.text, quote=False))
        return {
            "id": wire_id, "created_at": _iso(status.created_at),
            "in_reply_to_id": self.wire_id(parent.id) if parent else None,
            "in_reply_to_account_id": parent.account.id if parent else None,
            "sensitive": bool(status.spoiler_text), "spoiler_text": status.spoiler_text,
            "visibility": status.visibility, "language": status.language,
            "uri": f"{home}/users/{status.account.username}/statuses/{wire_id}",
            "url": f"{home}/@{status.account.username}/{wire_id}",
            "replies_count": sum(1 for s in self._statuses.values() if s.in_reply_to_id == status.id),
            "reblogs_count": 0, "favourites_count": status.id % 7, "edited_at": None, "favourited": False,
            "reblogged": False, "muted": False, "bookmarked": False, "content": f"<p>{content}</p>", "filtered": [],
            "reblog": None, "application": None, "account": self._render_account(status.account),
            "media_attachments": [], "emojis": [], "card": None, "poll": None,
            "mentions": [{"id": a.id, "username": a.username, "acct": a.acct,
                          "url": f"https://{a.domain or DOMAIN}/@{a.username}"} for a in status.mentions],
            "tags": [{"name": t.lower(), "url": f"https://{DOMAIN}/tags/{t.lower()}"} for t in _HASHTAG.findall(status.text)],
        }

    # -- paging: max_id/since_id/min_id as Mastodon's paginate_by_id does ----------------------------

    def _page(self, request: Request, items: list[tuple[int, Any]], path: str) -> Response:
        """``items``: (id, rendered) ascending by id."""
        try:
            limit = min(int(request.query.get("limit", "20")), 40)
            bounds = {k: self._parse_id(request.query[k]) for k in ("max_id", "since_id", "min_id")
                      if request.query.get(k)}
        except ValueError:
            return _error(422, "Validation failed: limit and ids must be integers")
        chosen = [(i, r) for i, r in items if i < bounds.get("max_id", 1 << 80)
                  and i > bounds.get("since_id", -1) and i > bounds.get("min_id", -1)]
        # min_id: the items just after it (oldest first in line); otherwise the newest ones.
        chosen = chosen[:limit] if "min_id" in bounds else chosen[-limit:]
        chosen.reverse()
        headers = {}
        if chosen:
            base = f"https://{DOMAIN}{path}?limit={limit}"
            headers["link"] = (f'<{base}&max_id={self.wire_id(chosen[-1][0])}>; rel="next", '
                               f'<{base}&min_id={self.wire_id(chosen[0][0])}>; rel="prev"')
        return Response(200, [r for _, r in chosen], headers)

    def _visible(self, status: Status) -> bool:
        return status.visibility in ("public", "unlisted")

    def _muted(self, status: Status) -> bool:
        return status.account.acct.lower() in self.muted

    def _search(self, request: Request) -> Response:
        q = request.query.get("q", "")
        if request.query.get("type", "statuses") != "statuses":
            return Response(200, {"accounts": [], "statuses": [], "hashtags": []})
        try:
            matcher: Matcher[Status] = parse(q, self._atom)
        except BadQuery:
            return Response(200, {"accounts": [], "statuses": [], "hashtags": []})
        # Unlike the timelines, search answers newest first even with min_id (it only filters) and
        # pages by offset.
        try:
            limit = min(int(request.query.get("limit", "20")), 40)
            offset = int(request.query.get("offset", "0"))
            bounds = {k: self._parse_id(request.query[k]) for k in ("max_id", "min_id") if request.query.get(k)}
        except ValueError:
            return _error(422, "Validation failed: limit, offset and ids must be integers")
        with self._lock:
            chosen = [self._statuses[i] for i in reversed(self._ids)
                      if bounds.get("min_id", -1) < i < bounds.get("max_id", 1 << 80)
                      and self._visible(self._statuses[i]) and matcher(self._statuses[i])]
            # The page, less the muted accounts' statuses: fewer than limit, with more matches below.
            page = [self._render(s) for s in chosen[offset:offset + limit] if not self._muted(s)]
        return Response(200, {"accounts": [], "statuses": page, "hashtags": []})

    @staticmethod
    def _atom(token: str) -> Matcher[Status]:
        if token.startswith("from:"):
            # As Mastodon reads it: "user", "@user" or "user@<this instance>" for a local account.
            acct = token[5:].lstrip("@").lower().removesuffix(f"@{DOMAIN}")
            return lambda s: s.account.acct.lower() == acct
        pattern = word_pattern(token.strip('"'))
        return lambda s: pattern.search(s.searchable_text) is not None

    def _hashtag(self, request: Request, tag: str) -> Response:
        with self._lock:
            items = [(i, self._render(s)) for i in self._ids for s in (self._statuses[i],)
                     if self._visible(s) and not self._muted(s)
                     and tag.lower() in (t.lower() for t in _HASHTAG.findall(s.text))]
        return self._page(request, items, f"/api/v1/timelines/tag/{tag}")

    def _notifications(self, request: Request) -> Response:
        types = [request.query[k] for k in ("types[]", "types") if k in request.query] or ["mention"]
        with self._lock:
            items = [(i, {"id": self.wire_id(i), "type": "mention", "created_at": _iso(s.created_at),
                          "group_key": f"ungrouped-{i}",
                          "account": self._render_account(s.account), "status": self._render(s)})
                     for i in self._ids if "mention" in types
                     for s in (self._statuses[i],)
                     if self.brand in s.mentions and s.account is not self.brand and not self._muted(s)]
        return self._page(request, items, "/api/v1/notifications")

    def _post_status(self, request: Request) -> Response:
        # Imported here: the emulators start without the connectors' optional packages (Mastodon.py).
        from connectors.mastodon import status_length

        form = request.json() if "json" in request.headers.get("content-type", "") else request.form()
        text = str(form.get("status") or "")
        key = request.headers.get("idempotency-key")
        with self._lock:
            if key and key in self._idempotent:
                return Response(200, self._render(self._statuses[self._idempotent[key]]))
            if not text.strip():
                return _error(422, "Validation failed: Text can't be blank")
            if status_length(text) > MAX_STATUS_CHARS:  # Mastodon's count: links 23, @user@domain as @user
                return _error(422, f"Validation failed: Text character limit of {MAX_STATUS_CHARS} exceeded")
            try:
                parent = self._parse_id(str(form["in_reply_to_id"])) if form.get("in_reply_to_id") else None
            except ValueError:
                return _error(404, "Record not found")
            if parent is not None and parent not in self._statuses:
                return _error(404, "Record not found")
            visibility = str(form.get("visibility") or "public")
            status = self._add(self.brand, text, datetime.now(timezone.utc), str(form.get("language") or "en"),
                               visibility=visibility, in_reply_to=parent)
            if key:
                self._idempotent[key] = status.id
            return Response(200, self._render(status))

    def _route(self, request: Request) -> Response:
        path = request.path.rstrip("/")
        if request.method == "GET" and path == "/api/v2/search":
            return self._search(request)
        if request.method == "GET" and (m := re.fullmatch(r"/api/v1/timelines/tag/(\w+)", path)):
            return self._hashtag(request, m.group(1))
        if request.method == "GET" and path == "/api/v1/notifications":
            return self._notifications(request)
        if request.method == "GET" and path == "/api/v1/accounts/verify_credentials":
            return Response(200, self._render_account(self.brand))
        if request.method == "POST" and path == "/api/v1/statuses":
            return self._post_status(request)
        return _error(404, "Record not found")

    def __call__(self, request: Request) -> Response:
        self.requests_served += 1
        if request.headers.get("authorization") != f"Bearer {self.access_token}":
            return _error(401, "The access token is invalid")
        fault = self.faults.take(request.path)
        window, allowed = self.windows.hit("account")
        reset_at = window.reset_at
        if fault and fault.kind == "rate_limit":
            window.remaining, reset_at, allowed = 0, datetime.now(timezone.utc).timestamp() + fault.retry_after, False
        headers = {"x-ratelimit-limit": str(window.limit), "x-ratelimit-remaining": str(window.remaining),
                   "x-ratelimit-reset": _iso(datetime.fromtimestamp(reset_at, timezone.utc))}
        if not allowed:
            response = _error(429, "Too many requests")
        elif fault and fault.kind == "server_error":
            response = _error(fault.status, "Service Unavailable")
        else:
            response = self._route(request)
            if fault:
                response = self._apply_payload_fault(response, fault)
        response.headers.update(headers)
        return response

    @staticmethod
    def _apply_payload_fault(response: Response, fault: Fault) -> Response:
        if fault.kind == "malformed_json":
            return truncated(response)
        payload = response.payload
        statuses = payload.get("statuses", []) if isinstance(payload, dict) else payload or []
        for item in statuses:
            target = item.get("status", item) if isinstance(item, dict) else {}
            target.pop("account", None)
            target.pop("created_at", None)
        return response
