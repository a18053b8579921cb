"""A Bluesky PDS + AppView emulator speaking XRPC: sessions, post search, notifications, records.

Wire format as in the atproto lexicons: ``com.atproto.server.createSession``/``refreshSession``
(JWT-shaped tokens with ``exp``), ``com.atproto.identity.resolveHandle``, ``app.bsky.feed.searchPosts``
(``q``, ``since`` inclusive, ``until`` exclusive, ``sort``, ``limit`` ≤ 100, offset ``cursor``,
``hitsTotal``; ``PostView`` with ``viewer.replyDisabled`` and ``threadgate``),
``app.bsky.feed.getPosts``, ``app.bsky.notification.listNotifications`` (newest first, ``reasons``,
``isRead`` against ``seenAt``) and ``updateSeen``, ``com.atproto.repo.createRecord`` (its ``facets`` checked
against the lexicon and kept). Errors are
``{"error": …, "message": …}``; every answer carries ``ratelimit-limit/remaining/reset`` (epoch
seconds) and ``ratelimit-policy``, and past the quota a 429 ``RateLimitExceeded``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from connectors.emulators.corpus import MentionStream
from connectors.emulators.query import BadQuery, Matcher, parse, word_pattern
from connectors.emulators.server import EmulatorState, Fault, RateWindows, Request, Response, truncated

HANDLE_DOMAIN = "bsky.social"
MAX_POST_GRAPHEMES = 300
MAX_POST_BYTES = 3000
ACCESS_TOKEN_SECONDS = 2 * 3600
_TID_CHARS = "234567abcdefghijklmnopqrstuvwxyz"
_MENTION = re.compile(r"(?<![\w@])@([\w-]+(?:\.[\w-]+)+)")
# What each known feature of a facet must hold (the union is open: other types pass as they are).
_FACET_FEATURE_VALUES = {"app.bsky.richtext.facet#mention": "did", "app.bsky.richtext.facet#link": "uri",
                         "app.bsky.richtext.facet#tag": "tag"}


@dataclass
class Actor:
    did: str
    handle: str
    display_name: str


@dataclass
class Post:
    uri: str
    cid: str
    author: Actor
    record: dict[str, Any]
    indexed_at: datetime
    seq: int
    # The thread root's threadgate ``allow`` rules; None: anyone may reply.
    gate: list[dict[str, Any]] | None = None

    @property
    def created_at(self) -> datetime:
        return datetime.fromisoformat(self.record["createdAt"].replace("Z", "+00:00"))

    @property
    def sort_at(self) -> datetime:
        """What search's ``since``/``until`` compare: the earlier of createdAt and indexedAt."""
        return min(self.created_at, self.indexed_at)

    @property
    def root_uri(self) -> str:
        return self.ref_uri("root") or self.uri

    def ref_uri(self, key: str) -> str | None:
        """The uri of the reply ref's ``root`` or ``parent``; None where the record (as a client may write it,
        or a test changes it) has no readable one."""
        reply = self.record.get("reply")
        ref = reply.get(key) if isinstance(reply, dict) else None
        uri = ref.get("uri") if isinstance(ref, dict) else None
        return uri if isinstance(uri, str) and uri else None


def iso(at: datetime) -> str:
    return at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def _parse_time(text: str) -> datetime:
    """A lexicon datetime or a bare ``YYYY-MM-DD`` (searchPosts accepts both)."""
    at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return at if at.tzinfo else at.replace(tzinfo=timezone.utc)


def _did(handle: str) -> str:
    digest = hashlib.sha256(handle.lower().encode()).digest()
    return "did:plc:" + base64.b32encode(digest).decode().lower()[:24]


def _cid(data: Any) -> str:
    """A CIDv1 (dag-cbor, sha2-256) string, as the PDS computes for a record (here over its JSON)."""
    digest = hashlib.sha256(json.dumps(data, sort_keys=True).encode()).digest()
    return "b" + base64.b32encode(bytes([1, 0x71, 0x12, 0x20]) + digest).decode().lower().rstrip("=")


def _tid(micros: int, clock: int) -> str:
    value = (micros << 10) | (clock & 0x3FF)
    return "".join(_TID_CHARS[(value >> (5 * i)) & 31] for i in reversed(range(13)))


def _jwt(payload: dict[str, Any]) -> str:
    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")
    return f"{part({'typ': 'at+jwt', 'alg': 'ES256K'})}.{part(payload)}.c2lnbmF0dXJl"


def _facets_problem(facets: Any) -> str | None:
    """What in a record's ``facets`` the lexicon refuses (as the PDS checks a record it stores); None if nothing."""
    if facets is None:
        return None
    if not isinstance(facets, list):
        return "facets must be an array"
    for number, facet in enumerate(facets):
        index = facet.get("index") if isinstance(facet, dict) else None
        features = facet.get("features") if isinstance(facet, dict) else None
        if not isinstance(index, dict) or not all(type(index.get(k)) is int and index[k] >= 0
                                                  for k in ("byteStart", "byteEnd")):
            return f"facets/{number}/index must have byteStart and byteEnd, integers of at least 0"
        if not isinstance(features, list) or not all(isinstance(f, dict) for f in features):
            return f"facets/{number}/features must be an array of objects"
        for feature in features:
            value = _FACET_FEATURE_VALUES.get(feature.get("$type"))
            if value and not (isinstance(feature.get(value), str) and feature[value]):
                return f"facets/{number}/features: {feature['$type']} must have the property \"{value}\""
            if value == "did" and not feature["did"].startswith("did:"):
                return f"facets/{number}/features: mention did must be a valid did"
    return None


def _error(status: int, error: str, message: str) -> Response:
    return Response(status, {"error": error, "message": message})


class BlueskyEmulator(EmulatorState):
    def __init__(self, *, seed: int, brand_name: str, brand_handle: str, app_password: str, backlog: int = 120,
                 backlog_end: datetime | None = None, rate_limit: int = 3000, rate_window_seconds: float = 300.0) -> None:
        super().__init__(RateWindows(rate_limit, rate_window_seconds))
        self.brand_name, self.app_password = brand_name, app_password
        self.stream = MentionStream(seed)
        self._lock = threading.RLock()
        self._actors: dict[str, Actor] = {}
        self._posts: dict[str, Post] = {}
        self._order: list[Post] = []  # ascending by indexedAt
        self._tokens: dict[str, str] = {}  # issued jwt -> "access" | "refresh"
        self._next_number = 0
        self.seen_at: datetime | None = None
        self.brand = self._actor(brand_handle, brand_name)
        end = backlog_end or datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
        start = end - timedelta(seconds=97 * backlog)
        for i in range(backlog):
            self._add_generated(start + timedelta(seconds=97 * i))

    # -- state ---------------------------------------------------------------------------------

    def _actor(self, handle: str, display_name: str) -> Actor:
        return self._actors.setdefault(handle.lower(), Actor(_did(handle), handle.lower(), display_name))

    def _add(self, author: Actor, text: str, at: datetime, lang: str, *, reply_to: Post | None = None,
             gate: list[dict[str, Any]] | None = None, created_at: datetime | None = None) -> Post:
        with self._lock:
            record: dict[str, Any] = {"$type": "app.bsky.feed.post", "text": text,
                                      "createdAt": iso(created_at or at), "langs": [lang]}
            facets = self._mention_facets(text)
            if facets:
                record["facets"] = facets
            if reply_to is not None:
                root = self._posts[reply_to.root_uri]
                record["reply"] = {"root": {"uri": root.uri, "cid": root.cid},
                                   "parent": {"uri": reply_to.uri, "cid": reply_to.cid}}
            return self._store(author, record, at, gate)

    def _store(self, author: Actor, record: dict[str, Any], at: datetime, gate: list[dict[str, Any]] | None = None,
               rkey: str | None = None) -> Post:
        with self._lock:
            seq = len(self._order)
            rkey = rkey or _tid(int(at.timestamp() * 1_000_000), seq)
            post = Post(f"at://{author.did}/app.bsky.feed.post/{rkey}", _cid(record), author, record, at, seq, gate)
            self._posts[post.uri] = post
            self._order.append(post)
            return post

    def _mention_facets(self, text: str) -> list[dict[str, Any]]:
        """``app.bsky.richtext.facet#mention`` for each @handle that resolves (byte offsets, UTF-8)."""
        facets = []
        for match in _MENTION.finditer(text):
            actor = self._actors.get(match.group(1).lower())
            if actor:
                start = len(text[: match.start()].encode())
                facets.append({"index": {"byteStart": start, "byteEnd": start + len(match.group(0).encode())},
                               "features": [{"$type": "app.bsky.richtext.facet#mention", "did": actor.did}]})
        return facets

    def _add_generated(self, at: datetime) -> Post:
        with self._lock:
            number = self._next_number
            self._next_number += 1
            post = self.stream.post(number)
            author = self._actor(f"{post.author.username}.{HANDLE_DOMAIN}", post.author.display_name)
            text = post.render(self.brand_name, "@" + self.brand.handle)
            # Some posts answer an earlier one (threads), some are threadgated: nobody, or mentioned users only.
            parent = self._order[-3] if number % 6 == 5 and len(self._order) >= 3 else None
            gate = None
            if parent is None and number % 11 == 3:
                gate = [] if number % 2 else [{"$type": "app.bsky.feed.threadgate#mentionRule"}]
            return self._add(author, text, at, post.lang, reply_to=parent, gate=gate)

    def add_posts(self, count: int = 1) -> list[str]:
        now = datetime.now(timezone.utc)
        return [self._add_generated(now).uri for _ in range(count)]

    def add_post(self, text: str, *, handle: str = "casual.bsky.social", lang: str = "en", reply_to: str | None = None,
                 gate: list[dict[str, Any]] | None = None, created_at: datetime | None = None) -> str:
        """One post now (``created_at`` may backdate it); ``gate`` sets the threadgate's ``allow`` rules."""
        with self._lock:
            author = self._actor(handle, handle.split(".")[0].title())
            parent = self._posts[reply_to] if reply_to else None
            return self._add(author, text, datetime.now(timezone.utc), lang, reply_to=parent, gate=gate,
                             created_at=created_at).uri

    def delete_post(self, uri: str) -> None:
        with self._lock:
            post = self._posts.pop(uri)
            self._order.remove(post)

    def replies_to(self, uri: str) -> list[dict[str, Any]]:
        """What the post's thread shows below it (``getPostThread`` replies), with the reply refs."""
        with self._lock:
            return [{"uri": p.uri, "text": p.record["text"], "author": p.author.handle, "reply": p.record["reply"]}
                    for p in self._order if p.ref_uri("parent") == uri]

    # -- rendering ------------------------------------------------------------------------------

    def _render_actor(self, actor: Actor) -> dict[str, Any]:
        return {"did": actor.did, "handle": actor.handle, "displayName": actor.display_name,
                "avatar": f"https://cdn.bsky.app/img/avatar/plain/{actor.did}/bafkreiavatar@jpeg",
                "labels": [], "createdAt": "2023-04-12T00:00:00.000Z"}

    def _reply_disabled(self, post: Post) -> bool:
        """Whether the brand may not reply, from the thread root's threadgate (followers are not modelled)."""
        root = self._posts.get(post.root_uri, post)
        if root.gate is None:
            return False
        mentioned = any(f.get("did") == self.brand.did for facet in root.record.get("facets", [])
                        for f in facet["features"])
        return not any(rule["$type"].endswith("#mentionRule") and mentioned for rule in root.gate)

    def _render(self, post: Post) -> dict[str, Any]:
        view: dict[str, Any] = {
            "uri": post.uri, "cid": post.cid, "author": self._render_actor(post.author), "record": post.record,
            "replyCount": sum(1 for p in self._order if p.ref_uri("parent") == post.uri),
            "repostCount": post.seq % 3, "likeCount": post.seq % 7, "quoteCount": 0, "indexedAt": iso(post.indexed_at),
            "viewer": {"threadMuted": False, "replyDisabled": self._reply_disabled(post), "embeddingDisabled": False},
            "labels": [],
        }
        if post.gate is not None:
            gate_uri = post.uri.replace("app.bsky.feed.post", "app.bsky.feed.threadgate")
            record = {"$type": "app.bsky.feed.threadgate", "post": post.uri, "allow": post.gate,
                      "createdAt": post.record["createdAt"]}
            view["threadgate"] = {"uri": gate_uri, "cid": _cid(record), "record": record, "lists": []}
        return view

    # -- XRPC methods ------------------------------------------------------------------------------

    def _session(self, handle: str, request: Request) -> Response:
        now = int(time.time())
        access = _jwt({"scope": "com.atproto.appPass", "sub": self.brand.did, "iat": now, "exp": now + ACCESS_TOKEN_SECONDS,
                       "aud": "did:web:bsky.social", "jti": f"a{len(self._tokens)}"})
        refresh = _jwt({"scope": "com.atproto.refresh", "sub": self.brand.did, "iat": now, "exp": now + 90 * 86400,
                        "aud": "did:web:bsky.social", "jti": f"r{len(self._tokens)}"})
        self._tokens.update({access: "access", refresh: "refresh"})
        # The DID document names this server as the account's PDS; the SDK switches its base URL to it.
        pds = f"http://{request.headers.get('host', '127.0.0.1')}"
        did_doc = {"@context": ["https://www.w3.org/ns/did/v1"], "id": self.brand.did, "alsoKnownAs": [f"at://{handle}"],
                   "verificationMethod": [],
                   "service": [{"id": "#atproto_pds", "type": "AtprotoPersonalDataServer", "serviceEndpoint": pds}]}
        return Response(200, {"accessJwt": access, "refreshJwt": refresh, "handle": self.brand.handle, "did": self.brand.did,
                              "didDoc": did_doc, "email": "social@orbisto.example", "emailConfirmed": True, "active": True})

    def _create_session(self, request: Request) -> Response:
        body = request.json() or {}
        identifier = str(body.get("identifier") or "").lower()
        if identifier not in (self.brand.handle, self.brand.did) or body.get("password") != self.app_password:
            return _error(401, "AuthenticationRequired", "Invalid identifier or password")
        return self._session(self.brand.handle, request)

    def _search(self, request: Request) -> Response:
        q = request.query.get("q", "")
        try:
            limit = int(request.query.get("limit", "25"))
            offset = int(request.query.get("cursor") or 0)
            since = _parse_time(request.query["since"]) if request.query.get("since") else None
            until = _parse_time(request.query["until"]) if request.query.get("until") else None
        except ValueError:
            return _error(400, "InvalidRequest", "Error: limit, cursor, since or until is malformed")
        if not 1 <= limit <= 100:
            return _error(400, "InvalidRequest", "Error: limit must be between 1 and 100")
        try:
            matcher: Matcher[Post] = parse(q, self._atom)
        except BadQuery:
            return _error(400, "InvalidRequest", "Error: Params must have the property \"q\"" if not q else "Error: bad query")
        with self._lock:
            hits = [p for p in self._order if matcher(p) and (since is None or p.sort_at >= since)
                    and (until is None or p.sort_at < until)]
            hits.sort(key=lambda p: (p.sort_at, p.seq), reverse=True)  # sort=top ranks alike here
            page = hits[offset: offset + limit]
            payload: dict[str, Any] = {"posts": [self._render(p) for p in page], "hitsTotal": len(hits)}
        if offset + limit < len(hits):
            payload["cursor"] = str(offset + limit)
        return Response(200, payload)

    @staticmethod
    def _atom(token: str) -> Matcher[Post]:
        if token.startswith("from:"):
            handle = token[5:].lstrip("@").lower()
            return lambda p: p.author.handle == handle
        pattern = word_pattern(token.strip('"'))
        return lambda p: pattern.search(p.record["text"]) is not None

    def _notifications(self, request: Request) -> Response:
        try:
            limit = int(request.query.get("limit", "50"))
            before = int(request.query["cursor"]) if request.query.get("cursor") else None
        except ValueError:
            return _error(400, "InvalidRequest", "Error: limit or cursor is malformed")
        reasons = [r for k in ("reasons", "reasons[]") if k in request.query for r in request.query[k].split(",")]
        with self._lock:
            items = []
            for post in reversed(self._order):  # newest first; the cursor is the last item's sequence
                if before is not None and post.seq >= before or post.author is self.brand:
                    continue
                reason = self._reason(post)
                if reason and (not reasons or reason in reasons):
                    items.append((post, reason))
                if len(items) == limit:
                    break
            notes = [{"uri": p.uri, "cid": p.cid, "author": self._render_actor(p.author), "reason": reason,
                      **({"reasonSubject": p.ref_uri("parent")} if reason == "reply" else {}),
                      "record": p.record, "isRead": self.seen_at is not None and p.indexed_at <= self.seen_at,
                      "indexedAt": iso(p.indexed_at), "labels": []} for p, reason in items]
            payload: dict[str, Any] = {"notifications": notes, "priority": False}
            if self.seen_at:
                payload["seenAt"] = iso(self.seen_at)
        if len(items) == limit:
            payload["cursor"] = str(items[-1][0].seq)
        return Response(200, payload)

    def _reason(self, post: Post) -> str | None:
        if any(f.get("did") == self.brand.did for facet in post.record.get("facets", []) for f in facet["features"]):
            return "mention"
        parent = self._posts.get(post.ref_uri("parent") or "")
        return "reply" if parent and parent.author is self.brand else None

    def _get_posts(self, request: Request) -> Response:
        uri = request.query.get("uris", "")
        with self._lock:
            return Response(200, {"posts": [self._render(self._posts[uri])] if uri in self._posts else []})

    def _create_record(self, request: Request) -> Response:
        # Imported here: the emulators start without the connectors' optional packages (regex).
        from connectors.graphemes import grapheme_count

        body = request.json() or {}
        record = body.get("record") or {}
        if body.get("repo") not in (self.brand.did, self.brand.handle):
            return _error(401, "AuthRequiredError", "Invalid repo: not the session's account")
        if body.get("collection") != "app.bsky.feed.post" or record.get("$type") != "app.bsky.feed.post":
            return _error(400, "InvalidRequest", "Invalid collection or record $type")
        text = str(record.get("text") or "")
        if not text.strip():
            return _error(400, "InvalidRequest", "Invalid app.bsky.feed.post record: Record/text must not be empty")
        if grapheme_count(text) > MAX_POST_GRAPHEMES:  # the lexicon's maxGraphemes
            return _error(400, "InvalidRequest", "Invalid app.bsky.feed.post record: "
                                                 f"Record/text must not be longer than {MAX_POST_GRAPHEMES} graphemes")
        if len(text.encode()) > MAX_POST_BYTES:  # the lexicon's maxLength, in UTF-8 bytes
            return _error(400, "InvalidRequest", "Invalid app.bsky.feed.post record: "
                                                 f"Record/text must not be longer than {MAX_POST_BYTES} characters")
        reply = record.get("reply")
        if reply is not None and not all(isinstance(reply.get(k), dict) and reply[k].get("uri") and reply[k].get("cid")
                                         for k in ("root", "parent")):
            return _error(400, "InvalidRequest", "Invalid app.bsky.feed.post record: reply must have root and parent strong refs")
        if problem := _facets_problem(record.get("facets")):
            return _error(400, "InvalidRequest", f"Invalid app.bsky.feed.post record: {problem}")
        with self._lock:
            # A PDS does not check that the parent exists: a reply to a deleted post is stored anyway.
            post = self._store(self.brand, record, datetime.now(timezone.utc), rkey=body.get("rkey"))
        return Response(200, {"uri": post.uri, "cid": post.cid, "validationStatus": "valid",
                              "commit": {"cid": _cid({"commit": post.uri}), "rev": _tid(post.seq, 0)}})

    def _route(self, request: Request) -> Response:
        method = request.path.removeprefix("/xrpc/")
        if request.method == "GET" and method == "app.bsky.feed.searchPosts":
            return self._search(request)
        if request.method == "GET" and method == "app.bsky.notification.listNotifications":
            return self._notifications(request)
        if request.method == "POST" and method == "app.bsky.notification.updateSeen":
            seen = (request.json() or {}).get("seenAt")
            if not seen:
                return _error(400, "InvalidRequest", "Input must have the property \"seenAt\"")
            self.seen_at = _parse_time(seen)
            return Response(200, headers={"content-type": "text/plain"})  # no output: an empty body
        if request.method == "GET" and method == "app.bsky.feed.getPosts":
            return self._get_posts(request)
        if request.method == "GET" and method == "com.atproto.identity.resolveHandle":
            actor = self._actors.get(request.query.get("handle", "").lower())
            return Response(200, {"did": actor.did}) if actor else _error(400, "InvalidRequest", "Unable to resolve handle")
        if request.method == "POST" and method == "com.atproto.repo.createRecord":
            return self._create_record(request)
        return _error(501, "MethodNotImplemented", f"Method Not Implemented: {method}")

    def __call__(self, request: Request) -> Response:
        self.requests_served += 1
        method = request.path.removeprefix("/xrpc/")
        fault = self.faults.take(request.path)
        window, allowed = self.windows.hit("account")
        reset_at = window.reset_at
        if fault and fault.kind == "rate_limit":
            window.remaining, reset_at, allowed = 0, time.time() + fault.retry_after, False
        headers = {"ratelimit-limit": str(window.limit), "ratelimit-remaining": str(window.remaining),
                   "ratelimit-reset": str(int(reset_at)), "ratelimit-policy": f"{window.limit};w={int(self.windows.window_seconds)}"}
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        if not allowed:
            response = _error(429, "RateLimitExceeded", "Rate Limit Exceeded")
        elif fault and fault.kind == "server_error":
            response = _error(fault.status, "InternalServerError", "Internal Server Error")
        elif method == "com.atproto.server.createSession":
            response = self._create_session(request)
        elif method == "com.atproto.server.refreshSession":
            response = (self._session(self.brand.handle, request) if self._tokens.get(token) == "refresh"
                        else _error(400, "ExpiredToken", "Token has expired"))
        elif self._tokens.get(token) != "access":
            response = _error(401, "AuthenticationRequired", "Authentication Required")
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
        payload = response.payload if isinstance(response.payload, dict) else {}
        for item in payload.get("posts", []) + payload.get("notifications", []):
            item.pop("author", None)
            item["record"] = {k: v for k, v in item.get("record", {}).items() if k != "createdAt"}
        return response
