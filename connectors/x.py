"""X / Twitter through tweepy's API v2 ``Client``: keyword search, the brand's @mentions, replies.

One :class:`~connectors.base.Query` covers two sources, ``search`` (recent search for the brand's
keywords) and ``mentions`` (the brand account's mentions timeline). The cursor is JSON holding one
sub-cursor per source plus the sources still to read in the current round. Each source walks
newest→oldest with ``next_token`` while ``since_id`` stays fixed, remembering the newest id seen;
only when the walk ends does ``since_id`` move up to it. So any page's cursor, committed with that
page, resumes exactly where it stopped after a crash, and nothing newer than ``since_id`` is skipped.
Recent search refuses a ``since_id`` older than its 7 days: a walk starting from one reads from the window's
start (``start_time``) instead, all of what X still holds.
"""

from __future__ import annotations

import json
import logging
import math
import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta, timezone
from functools import partial
from typing import Any, ClassVar, Literal

import requests
import tweepy
from pydantic import Field
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from connectors._http import HttpSettings, never_connected, reply_connect_deadline, retry_policy
from connectors.base import (
    DEFAULT_RETRY_AFTER_SECONDS,
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
    connector_error,
    fetch_in_rounds,
)
from connectors.x_text import x_weighted_length

log = logging.getLogger("mentiondesk.connectors.x")

X_API_BASE = "https://api.twitter.com"  # what tweepy calls; rerouted to ``api_base_url``
MAX_TWEET_CHARS = 280
TWITTER_EPOCH_MS = 1288834974657  # an X post id's top 42 bits: milliseconds since this
# X recent search holds the last 7 days and refuses (400) a since_id or start_time older than that.
SEARCH_WINDOW = timedelta(days=7)
# A since_id older than the window less this is replaced by a start_time this far inside it: room for
# clocks that differ and for the walk's later pages, sent with the same start_time.
SEARCH_WINDOW_MARGIN = timedelta(hours=1)
# The longest search query X takes (self-serve tiers): a longer one is refused with a 400 on every poll.
MAX_SEARCH_QUERY_CHARS = 512
# An account renamed on X keeps its id, and a freed handle can go to another account: the brand account's id is
# looked up again this long after the last lookup (X bills user lookups too), at the start of a walk.
BRAND_LOOKUP_INTERVAL = timedelta(days=1)
USER_SECRETS = ("api_key", "api_secret", "access_token", "access_token_secret")
# note_tweet: a post over 280 characters comes with its text cut short; its whole text and that text's
# entities (an @mention of the brand past the cut) are only in note_tweet.
TWEET_FIELDS = ["author_id", "created_at", "conversation_id", "lang", "public_metrics", "entities", "referenced_tweets",
                "note_tweet"]
USER_FIELDS = ["username", "name", "public_metrics"]
EXPANSIONS = ["author_id", "referenced_tweets.id", "referenced_tweets.id.author_id"]
# X's lang for a post it gives no language: undetermined, media, mentions, hashtags or cashtags only, too short
# to tell, no linguistic content, emoji only ("art"). Stored as no language, so the language is detected.
NO_LANGUAGE = frozenset({"und", "qme", "qam", "qht", "qct", "qst", "zxx", "art"})
# Keywords X would not read as plain words unless quoted: phrases, "re:zero" (an operator), "-ish" (a
# negation), "(beta)" (a group). A leading # or @ is left alone: X's hashtag and mention operators.
_NEEDS_QUOTES = re.compile(r"[\s:()]|^-")

Source = Literal["search", "mentions"]

# Debug lines of tweepy (request headers: the bearer token), requests_oauthlib and oauthlib (the OAuth
# 1.0a keys and the signed Authorization header) carry secrets: never let them out, even with -vv.
# A level, not a filter: a logger's filter does not see its child loggers' records.
for _library in ("tweepy", "requests_oauthlib", "oauthlib"):
    logging.getLogger(_library).setLevel(logging.INFO)


class _RequestRejected(ConnectorError):
    """400 Bad Request: a wrong query or parameter (or an expired pagination token)."""


class XSettings(HttpSettings):
    # Where API v2 lives: the real API, a proxy, or the local emulator.
    api_base_url: WebUrl = X_API_BASE
    search: bool = True  # recent search for the brand's keywords
    mentions: bool = True  # the brand account's mentions timeline (needs the brand's handle)
    exclude_retweets: bool = True
    # Only posts in this language (X's lang: operator, e.g. "es"); None: all languages.
    lang: str | None = Field(default=None, pattern=r"^[a-z]{2,3}$")
    page_size: int = Field(default=100, ge=10, le=100)
    # Pages a query reads on its very first poll: X bills every post read, so no deep backfill.
    first_run_pages: int = Field(default=1, ge=1)


@dataclass
class _SourceCursor:
    since_id: str | None = None
    next_token: str | None = None
    newest_seen: str | None = None  # newest id of the walk in progress
    pages: int = 0  # pages read in the walk in progress
    start_time: str | None = None  # the search walk's lower bound in place of a since_id too old for X
    # The search walk leaves out posts that @mention the brand (-@handle); fixed for a walk, whose pages
    # must all be read with one query.
    without_mentions: bool = False
    previous_since_id: str | None = None  # since_id before the last walk moved it up: that walk's lower bound
    # The mentions timeline's latest read failed (set on the page stored in its place); cleared by its next page.
    failed: bool = False


@dataclass
class _Cursor:
    pending: list[Source] = field(default_factory=list)  # sources left in this round
    search: _SourceCursor = field(default_factory=_SourceCursor)
    mentions: _SourceCursor = field(default_factory=_SourceCursor)
    brand_user_id: str | None = None
    brand_handle: str | None = None  # the handle brand_user_id was looked up for, lower-case
    brand_looked_up_at: str | None = None  # when (ISO 8601, UTC) brand_handle last gave brand_user_id

    @classmethod
    def load(cls, text: str | None) -> "_Cursor":
        if not text:
            return cls()
        try:
            data = json.loads(text)
            return cls(
                pending=[s for s in data.get("pending", []) if s in ("search", "mentions")],
                search=_SourceCursor(**data.get("search", {})),
                mentions=_SourceCursor(**data.get("mentions", {})),
                brand_user_id=data.get("brand_user_id"),
                brand_handle=data.get("brand_handle"),
                brand_looked_up_at=data.get("brand_looked_up_at"),
            )
        except (ValueError, TypeError, AttributeError):
            raise ConnectorError("stored X cursor is unreadable; reset this query's cursor to start over") from None

    def dump(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))


class _RoutingAdapter(HTTPAdapter):
    """Sends tweepy's ``https://api.twitter.com`` requests to ``base_url`` with a timeout (tweepy sets none),
    and makes a 429's reset header one tweepy can read."""

    def __init__(self, base_url: str, timeout: float, retries: Retry) -> None:
        super().__init__(max_retries=retries)
        self.base_url, self.timeout = base_url.rstrip("/"), timeout

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        if request.url and request.url.startswith(X_API_BASE):
            request.url = self.base_url + request.url[len(X_API_BASE):]
        kwargs["timeout"] = kwargs.get("timeout") or self.timeout
        response = super().send(request, **kwargs)
        if response.status_code == 429:
            _whole_reset_seconds(response)
        return response


def _whole_reset_seconds(response: requests.Response) -> None:
    """tweepy int()s a 429's x-rate-limit-reset and raises ValueError (not TooManyRequests) on anything
    else, e.g. "1796586913.9": give it whole seconds, or no header when it is not a finite number."""
    reset = _window_reset(response)
    if reset is None:
        response.headers.pop("x-rate-limit-reset", None)
    else:
        response.headers["x-rate-limit-reset"] = str(int(reset))


def _window_reset(response: requests.Response) -> float | None:
    """When the endpoint's rate-limit window resets (epoch seconds, at most MAX_SETTING_SECONDS from now,
    in case it came in milliseconds), or None when the header is missing or not a finite number."""
    try:
        reset = float(response.headers["x-rate-limit-reset"])
    except (KeyError, ValueError):
        return None
    return min(reset, time.time() + MAX_SETTING_SECONDS) if math.isfinite(reset) else None


def _rate_limited(message: str, response: requests.Response) -> RateLimited:
    reset = _window_reset(response)
    return RateLimited(message, reset - time.time() if reset is not None else DEFAULT_RETRY_AFTER_SECONDS)


def build_search_query(query: Query, settings: XSettings, *, mentions_read_elsewhere: bool = False) -> str:
    """The brand's X search text: its raw query (``queries.x``), or one built from its keywords.

    ``mentions_read_elsewhere``: the brand account's mentions timeline reads every post that @mentions
    ``query.handle``, so search leaves them out (``-@handle``): X's keyword match finds "orbisto" in
    "@orbisto", and each such post was read, and billed, twice. The term is left out where it would take
    the query past X's length limit: a refused query would stop the brand's keyword search. A raw query
    (``queries.x``) gets the term too, after it in brackets: X binds AND tighter than OR."""
    text = query.raw or _keyword_query(query, settings)
    without_mentions = f"({text}) -@{query.handle}" if query.raw else f"{text} -@{query.handle}"
    if mentions_read_elsewhere and query.handle and len(without_mentions) <= MAX_SEARCH_QUERY_CHARS:
        return without_mentions
    return text


def _keyword_query(query: Query, settings: XSettings) -> str:
    """The brand's keywords, quoted where needed and OR-joined, minus excluded terms, the brand's own posts,
    retweets and other languages."""

    def term(word: str) -> str:
        word = word.replace('"', "")
        return f'"{word}"' if _NEEDS_QUOTES.search(word) else word

    terms = [term(k) for k in query.keywords]
    parts = [terms[0] if len(terms) == 1 else "(" + " OR ".join(terms) + ")"]
    parts += [f"-{term(e)}" for e in query.exclude]
    if query.handle:
        parts.append(f"-from:{query.handle}")  # the brand's own posts are not mentions
    if settings.exclude_retweets:
        parts.append("-is:retweet")
    if settings.lang:
        parts.append(f"lang:{settings.lang}")
    return " ".join(parts)


# X ids are 64-bit unsigned integers (at most 20 digits): a longer one is none, and int() refuses one
# of over 4,300 digits with a ValueError.
_MAX_POST_ID = 2**64 - 1


def _post_id(value: Any) -> str | None:
    """An X post id (decimal digits, in 64 bits), or None: ids are compared as numbers and sent back as since_id."""
    ok = isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 20
    return value if ok and int(value) <= _MAX_POST_ID else None


def _posted_at(post_id: str) -> datetime | None:
    """When an X post was made, read from its id (a snowflake); None for a string that is not an id."""
    if _post_id(post_id) is None:
        return None
    return datetime.fromtimestamp(((int(post_id) >> 22) + TWITTER_EPOCH_MS) / 1000, timezone.utc)


def _search_start_time(since_id: str | None) -> str | None:
    """Where a search walk starts when its since_id is too old for X's recent search (no matching post
    for a week, or a worker off that long), which X refuses on every poll: the oldest time X still
    holds, less a margin. Every post since then is newer than since_id, so none is read (and billed)
    twice; the older ones X no longer gives. None while since_id itself can be sent."""
    floor = datetime.now(timezone.utc) - SEARCH_WINDOW + SEARCH_WINDOW_MARGIN
    posted_at = _posted_at(since_id) if since_id else None
    if posted_at is None or posted_at > floor:
        return None  # an unreadable since_id is sent as it is, for X to explain
    return floor.strftime("%Y-%m-%dT%H:%M:%SZ")


def _brand_lookup_due(looked_up_at: str | None) -> bool:
    """Whether the brand account is to be looked up again: BRAND_LOOKUP_INTERVAL after its last lookup, or
    where that time is unknown (a cursor from before 2026-12-07), unreadable or ahead of the clock."""
    try:
        since = datetime.now(timezone.utc) - datetime.fromisoformat(looked_up_at or "")
    except (TypeError, ValueError):  # TypeError: a time without a zone
        return True
    return not timedelta(0) <= since < BRAND_LOOKUP_INTERVAL


def _timeline_failed(resume: FetchResult) -> FetchResult:
    """The page stored in place of a failed mentions read (holding the cursor as it was before that read),
    its cursor noting the failure: search reads the brand's @mentions again until the timeline reads a page."""
    state = _Cursor.load(resume.next_cursor)
    state.mentions.failed = True
    return replace(resume, next_cursor=state.dump())


def _object(value: Any) -> dict[str, Any]:
    """A JSON object, or an empty one in place of anything else (null, a list)."""
    return value if isinstance(value, dict) else {}


def _objects(value: Any) -> list[dict[str, Any]]:
    """The objects in a JSON list; anything else (null, an object) holds none."""
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _error_detail(exc: tweepy.HTTPException) -> str:
    """X's own explanation (``detail``/``errors[].message``), which never includes credentials."""
    messages = [m for m in exc.api_messages if isinstance(m, str)]
    return "; ".join(messages)[:300] or exc.response.reason or "no details"


class XConnector(Connector):
    name = "x"
    Settings = XSettings
    capabilities = Capabilities(can_reply=True, reply_needs_direct_mention=True, max_reply_chars=MAX_TWEET_CHARS,
                                reply_length=x_weighted_length, length_unit="X-weighted characters (URLs count 23)")
    required_secrets: ClassVar[tuple[str, ...]] = ("bearer_token",)
    settings: XSettings

    def __init__(self, settings: ConnectorSettings, secrets: dict[str, str] | None = None) -> None:
        super().__init__(settings, secrets)
        self.client = tweepy.Client(
            bearer_token=self.secrets.get("bearer_token"),
            consumer_key=self.secrets.get("api_key"),
            consumer_secret=self.secrets.get("api_secret"),
            access_token=self.secrets.get("access_token"),
            access_token_secret=self.secrets.get("access_token_secret"),
            return_type=requests.Response,  # we need the rate-limit headers and our own JSON checks
            wait_on_rate_limit=False,  # sleeping here would block the poller; we raise RateLimited
        )
        adapter = _RoutingAdapter(self.settings.api_base_url, self.settings.request_timeout_seconds,
                                  retry_policy(self.settings))
        self.client.session.mount(X_API_BASE + "/", adapter)
        # Per endpoint: (remaining, reset epoch) from the last x-rate-limit-* headers.
        self._limits: dict[str, tuple[int, float]] = {}

    # -- fetching --------------------------------------------------------------------------------

    def _sources(self, query: Query) -> list[Source]:
        sources: list[Source] = []
        if self.settings.search and (query.raw or query.keywords):
            sources.append("search")
        if self.settings.mentions and query.handle:
            sources.append("mentions")
        if not sources:
            raise ConnectorError(f"query {query.key!r} has nothing to read on X: give the brand keywords or an x handle")
        return sources

    def fetch(self, query: Query, cursor: str | None) -> FetchResult:
        state = _Cursor.load(cursor)
        sources = self._sources(query)
        try:
            return fetch_in_rounds(state, sources, lambda pending: self._fetch_source(query, state, pending))
        except ConnectorError as exc:
            if exc.resume is not None and exc.resume.failed_source == "mentions":
                exc.resume = _timeline_failed(exc.resume)
            raise

    def _fetch_source(self, query: Query, state: _Cursor, pending: list[Source]) -> FetchResult:
        """The next page of the round's first pending source."""
        source = pending[0]
        brand_user_id = self._brand_user_id(query, state, source)
        sub: _SourceCursor = getattr(state, source)  # after the lookup: another account's timeline starts afresh
        if not sub.next_token:
            self._start_walk(source, query, state, sub)
        try:
            payload = self._read_page(source, query, state, sub)
        except _RequestRejected:
            if not sub.next_token:
                raise
            # Pagination tokens expire, and a walk held up long enough has its since_id (or start_time) leave
            # the search window; restart this walk from since_id (the store dedupes).
            log.warning("X rejected a stored pagination token for %s; restarting from since_id", query.key)
            sub.next_token, sub.newest_seen, sub.pages = None, None, 0
            self._start_walk(source, query, state, sub)
            payload = self._read_page(source, query, state, sub)
        units = self._billed_posts(payload)
        try:
            return self._page(payload, query, state, pending, brand_user_id, units)
        except Exception as exc:  # refused, but X billed it: its reads count against daily_read_cap all the same
            error = connector_error(exc)
            error.units_used = units
            raise error

    def _page(self, payload: dict[str, Any], query: Query, state: _Cursor, pending: list[Source],
              brand_user_id: str | None, units: int) -> FetchResult:
        """The page X answered for the round's first pending source, with ``state`` moved on past it."""
        sub: _SourceCursor = getattr(state, pending[0])
        mentions = self._mentions(payload, query, pending[0], brand_user_id)
        meta = payload.get("meta")
        if not isinstance(meta, dict):
            raise BadPayload("X answer has no meta object")
        # An unreadable newest_id leaves since_id where it was: the next round reads these posts again
        # (the store drops the duplicates) rather than skipping any.
        newest = max((i for i in (sub.newest_seen, _post_id(meta.get("newest_id"))) if i), key=int, default=None)
        sub.pages += 1
        sub.failed = False
        walk_limit_reached = sub.since_id is None and sub.pages >= self.settings.first_run_pages
        next_token = meta.get("next_token")
        if isinstance(next_token, str) and next_token and not walk_limit_reached:
            sub.next_token, sub.newest_seen = next_token, newest
        else:
            sub.previous_since_id, sub.since_id = sub.since_id, newest or sub.since_id
            sub.next_token, sub.newest_seen, sub.pages, sub.start_time = None, None, 0, None
            pending = pending[1:]
        state.pending = pending
        return FetchResult(mentions, next_cursor=state.dump(), has_more=bool(pending), units_used=units)

    def _start_walk(self, source: Source, query: Query, state: _Cursor, sub: _SourceCursor) -> None:
        """Set the lower bound of a walk that starts: since_id, or a start_time where search could not take it;
        and whether a search walk leaves the brand's @mentions to the mentions timeline.

        The last search walk that left them out did so as the timeline had read its latest page; should the
        timeline fail after it, the @mentions in that walk's span are read by neither source (unless the timeline
        comes back), so this walk reads from that walk's since_id again, billing its other posts twice."""
        if source == "search":
            reading = self._timeline_reads_brand_mentions(query, state)
            if sub.without_mentions and not reading and sub.previous_since_id is not None:
                sub.since_id = sub.previous_since_id
            sub.without_mentions = reading
        sub.start_time = _search_start_time(sub.since_id) if source == "search" else None
        if sub.start_time:
            log.info("X search for %s: since_id %s is older than X's 7-day search window; reading from %s",
                     query.key, sub.since_id, sub.start_time)

    def _read_page(self, source: Source, query: Query, state: _Cursor, sub: _SourceCursor) -> dict[str, Any]:
        token = sub.next_token
        params: dict[str, Any] = {
            "max_results": self.settings.page_size,
            "expansions": EXPANSIONS,
            "tweet_fields": TWEET_FIELDS,
            "user_fields": USER_FIELDS,
            # tweepy drops None parameters
            "since_id": None if sub.start_time else sub.since_id,
            "start_time": sub.start_time,
        }
        if source == "search":
            text = build_search_query(query, self.settings, mentions_read_elsewhere=sub.without_mentions)
            request = partial(self.client.search_recent_tweets, text, next_token=token, **params)
        else:
            request = partial(self.client.get_users_mentions, state.brand_user_id, pagination_token=token, **params)
        try:
            return self._call(source, request)
        except BadPayload as exc:
            # X served (and billed) an answer that cannot be read: its posts cannot be counted, so it counts
            # as a full page, the most it may have held.
            exc.units_used = self.settings.page_size
            raise

    def _timeline_reads_brand_mentions(self, query: Query, state: _Cursor) -> bool:
        """Whether the mentions timeline reads every post that @mentions the brand from here on: its account
        is known for this handle, a walk of it has set its since_id, so every newer one is read, and its latest
        page was read. Otherwise (the handle not found, the timeline not read yet, or failing: a 403 after a tier
        change, a token that lost its access) search reads them, so none is missed."""
        handle = (query.handle or "").lower()
        return (self.settings.mentions and bool(handle) and state.brand_handle == handle
                and state.mentions.since_id is not None and not state.mentions.failed)

    def _brand_user_id(self, query: Query, state: _Cursor, source: Source) -> str | None:
        """The brand account's id for this page, from the cursor unless the handle changed, or a walk starts
        BRAND_LOOKUP_INTERVAL after the last lookup: until 2026-12-07 an account renamed on X was never looked
        up again, so its timeline read on by id while search left out the posts still naming the old @handle.

        The mentions timeline cannot be read without it: a failed lookup fails that source. Search needs
        it only for the quote check, so there a failed lookup (a wrong, renamed or suspended handle, or X
        not answering it) leaves the id unknown, None, and the keywords are read all the same: failing it
        stopped the brand's keyword search every round. It also leaves the handle unconfirmed, so search
        reads the brand's @mentions itself. Search looks up only at the start of a walk, so a failing
        handle costs no more lookups than before (one per source and round)."""
        if not query.handle:
            return None
        walk_starts = not getattr(state, source).next_token
        due = walk_starts and _brand_lookup_due(state.brand_looked_up_at)
        if state.brand_handle == query.handle.lower() and not due:
            return state.brand_user_id
        if source == "mentions":
            self._look_up_brand(state, query.handle)
            return state.brand_user_id
        if not walk_starts:
            return None  # the lookup failed at the start of this walk (or the handle changed since)
        try:
            self._look_up_brand(state, query.handle)
        except ConnectorError as exc:
            state.brand_handle = None  # the id is kept: the same account found again keeps its timeline
            log.warning("X search for %s reads on without the quote check: looking up @%s failed: %s",
                        query.key, query.handle, exc)
            return None
        return state.brand_user_id

    def _look_up_brand(self, state: _Cursor, handle: str) -> None:
        """The brand account's id, looked up again whenever its handle changes in the config, and daily: the
        mentions timeline and the quote check must follow the account the brand has now."""
        user_id = self._user_id(handle)
        if user_id != state.brand_user_id:
            state.mentions = _SourceCursor()  # another account: its timeline starts afresh
        state.brand_user_id, state.brand_handle = user_id, handle.lower()
        state.brand_looked_up_at = datetime.now(timezone.utc).isoformat()

    def _user_id(self, handle: str) -> str:
        payload = self._call("users", lambda: self.client.get_user(username=handle))
        data = payload.get("data")
        if not isinstance(data, dict) or not isinstance(data.get("id"), str):
            raise ConnectorError(f"X has no account @{handle} (check the brand's x handle)")
        return data["id"]

    def _call(self, endpoint: str, request: Callable[[], requests.Response]) -> dict[str, Any]:
        """Run one tweepy call; rate limits become RateLimited, HTTP trouble ConnectorError."""
        remaining, reset = self._limits.get(endpoint, (1, 0.0))
        if remaining <= 0 and reset > time.time():
            raise RateLimited(f"X {endpoint} limit used up until its window resets", reset - time.time())
        try:
            response: requests.Response = request()
        except tweepy.TooManyRequests as exc:
            self._remember_limits(endpoint, exc.response)
            raise _rate_limited("X answered 429 Too Many Requests", exc.response) from None
        except tweepy.BadRequest as exc:
            raise _RequestRejected(f"X rejected the {endpoint} request (400): {_error_detail(exc)}") from None
        except tweepy.Unauthorized:
            raise ConnectorError("X rejected the credentials (401); check MENTIONDESK_X_BEARER_TOKEN") from None
        except tweepy.TwitterServerError as exc:
            raise ConnectorError(f"X server error {exc.response.status_code} (after {self.settings.max_retries} retries)") from None
        except tweepy.HTTPException as exc:
            raise ConnectorError(f"X refused the request ({exc.response.status_code}): {_error_detail(exc)}") from None
        except requests.RequestException as exc:
            raise ConnectorError(f"cannot reach X ({exc.__class__.__name__})") from None
        self._remember_limits(endpoint, response)
        try:
            payload = response.json()
        except ValueError:
            raise BadPayload(f"X answered {endpoint} with malformed JSON") from None
        if not isinstance(payload, dict):
            raise BadPayload(f"X answered {endpoint} with JSON that is not an object")
        return payload

    def _remember_limits(self, endpoint: str, response: requests.Response) -> None:
        try:
            remaining = int(response.headers["x-rate-limit-remaining"])
        except (KeyError, ValueError):
            return  # no (readable) headers: nothing learnt
        reset = _window_reset(response)
        if reset is not None:
            self._limits[endpoint] = (remaining, reset)

    def _billed_posts(self, payload: dict[str, Any]) -> int:
        """What X bills for an answer: its posts in ``data`` plus the referenced posts in ``includes.tweets``.
        Counted before the answer is read, so one refused after it counts all the same; ``data`` of
        another shape cannot be counted, so counts as a full page."""
        tweets = payload.get("data", [])
        referenced = {t["id"] for t in _objects(_object(payload.get("includes")).get("tweets"))
                      if isinstance(t.get("id"), str)}
        return (len(tweets) if isinstance(tweets, list) else self.settings.page_size) + len(referenced)

    def _mentions(self, payload: dict[str, Any], query: Query, source: Source,
                  brand_user_id: str | None) -> list[Mention]:
        tweets = payload.get("data", [])
        includes = payload.get("includes", {})
        if not isinstance(tweets, list) or not isinstance(includes, dict):
            raise BadPayload("X answer's data/includes have the wrong shape")
        if tweets and not isinstance(includes.get("users"), list):
            # The author_id expansion was asked for: posts without any users list are a broken answer (a proxy,
            # an API change), not odd posts. Refused, it is read again; taken, every post would lose its author.
            raise BadPayload("X answer lacks includes.users: every post's author is missing")
        users = {u["id"]: u for u in _objects(includes.get("users")) if isinstance(u.get("id"), str)}
        referenced = {t["id"]: t for t in _objects(includes.get("tweets")) if isinstance(t.get("id"), str)}
        handle = (query.handle or "").lower()
        mentions = []
        for tweet in tweets:
            mention = self._mention(tweet, users, referenced, handle, brand_user_id, source)
            if mention is not None:
                mentions.append(mention)
        return mentions

    def _mention(self, tweet: Any, users: dict[str, dict[str, Any]], referenced: dict[str, dict[str, Any]],
                 handle: str, brand_user_id: str | None, source: Source) -> Mention | None:
        """The post as far as it can be read. A required part missing or of an odd shape (no text, an author
        not in includes.users) is read as unknown, with the post as sent in raw: refusing the page for it
        stopped the source on every poll, and the posts after it were never read."""
        post = _object(tweet)
        # Optional parts of an odd shape are dropped, not the post: it is still worth reading.
        refs = {r["type"]: r["id"] for r in _objects(post.get("referenced_tweets"))
                if isinstance(r.get("type"), str) and isinstance(r.get("id"), str)}
        if self.settings.exclude_retweets and "retweeted" in refs:
            return None  # the mentions timeline has no -is:retweet operator
        # Without a readable id the post cannot be stored: ingest sets it aside in the audit log, whole.
        post_id = _text(post.get("id")) or ""
        author = _object(users.get(post.get("author_id")) if isinstance(post.get("author_id"), str) else None)
        username = _text(author.get("username"))
        missing = [f for f in ("id", "text", "created_at", "author_id") if not isinstance(post.get(f), str)]
        if username is None and "author_id" not in missing:
            missing.append("its author in includes.users")
        if missing:  # named by id only: never its text
            log.warning("X post %r lacks %s; read without it", post_id[:40], ", ".join(missing))
        sent_at = post.get("created_at")
        try:
            created_at = datetime.fromisoformat(sent_at.replace("Z", "+00:00")) if isinstance(sent_at, str) else None
        except ValueError:
            created_at = None
        if created_at is not None and created_at.tzinfo is None:
            created_at = created_at.replace(tzinfo=timezone.utc)  # X gives its times in UTC
        note = _object(post.get("note_tweet"))  # a long post: its whole text and that text's entities
        text = _text(note.get("text")) or _text(post.get("text"))
        mentions = [*_objects(_object(post.get("entities")).get("mentions")),
                    *_objects(_object(note.get("entities")).get("mentions"))]
        mentioned = {m["username"].lower() for m in mentions if isinstance(m.get("username"), str)}
        quoted = referenced.get(refs.get("quoted", ""), {})
        quotes_brand = brand_user_id is not None and quoted.get("author_id") == brand_user_id
        followers = _object(author.get("public_metrics")).get("followers_count")
        lang = _text(post.get("lang"))
        raw = {"source": source, "tweet": tweet, "author": author or None}
        if created_at is None:  # dated when fetched, as ingest does with an unbelievable date
            created_at, raw["created_at_as_sent"] = datetime.now(timezone.utc), sent_at
        return Mention(
            platform=self.name,
            external_id=post_id,
            text=text or "",
            created_at=created_at,
            # x.com/i/status/<id> opens a post whatever its author's handle.
            url=f"https://x.com/{username or 'i'}/status/{post_id}" if post_id else None,
            author_handle=username,
            author_name=_text(author.get("name")),
            author_followers=followers if type(followers) is int and followers >= 0 else None,
            lang=lang if lang and lang not in NO_LANGUAGE else None,
            thread_id=_text(post.get("conversation_id")),
            parent_id=refs.get("replied_to"),
            # X's self-serve reply rule: only where the author @mentioned or quoted the brand.
            replyable=bool(handle) and (source == "mentions" or handle in mentioned or quotes_brand),
            raw=raw,
        )

    # -- replying --------------------------------------------------------------------------------

    def reply(self, target: ReplyTarget, text: str, idempotency_key: str) -> PostedReply:
        if not target.replyable:
            raise ReplyNotAllowed(
                "X lets this app reply only to posts that @mention or quote the brand account; this post does neither"
            )
        if x_weighted_length(text) > MAX_TWEET_CHARS:
            raise ConnectorError(f"the reply is {x_weighted_length(text)} X-weighted characters; X allows {MAX_TWEET_CHARS}")
        missing = [s for s in USER_SECRETS if not self.secrets.get(s)]
        if missing:
            names = ", ".join(f"MENTIONDESK_X_{s.upper()}" for s in missing)
            raise ConnectorError(f"replying on X needs the brand account's OAuth 1.0a keys: set {names}")
        try:
            with reply_connect_deadline():  # urllib3 retries a connection never made, for a POST too
                response = self.client.create_tweet(text=text, in_reply_to_tweet_id=target.external_id,
                                                    user_auth=True)
        except tweepy.Forbidden as exc:
            raise ReplyNotAllowed(f"X refused the reply: {_error_detail(exc)}") from None
        except tweepy.TooManyRequests as exc:
            raise _rate_limited("X answered 429 Too Many Requests to the reply", exc.response) from None
        except tweepy.TwitterServerError as exc:  # a 5xx can come after the post was made (a gateway timeout)
            raise DeliveryUnknown(f"X answered the reply with a server error ({exc.response.status_code}); "
                                  "check the thread before retrying") from None
        except tweepy.HTTPException as exc:
            raise ConnectorError(f"X did not accept the reply ({exc.response.status_code}): {_error_detail(exc)}") from None
        except requests.ConnectTimeout:
            raise ConnectorError("cannot reach X to reply (connection timed out); nothing was posted") from None
        except requests.RequestException as exc:  # the request may have gone out: never let a retry post it twice
            if why := never_connected(exc):
                raise ConnectorError(f"cannot reach X to reply ({why}); nothing was posted") from None
            raise DeliveryUnknown(f"the reply request to X got no answer ({exc.__class__.__name__}); "
                                  "check the thread before retrying") from None
        try:
            posted_id = response.json()["data"]["id"]
        except (ValueError, KeyError, TypeError):
            raise BadPayload("X accepted the reply but its answer has no data.id") from None
        return PostedReply(external_id=str(posted_id), url=f"https://x.com/i/status/{posted_id}")

    def close(self) -> None:
        self.client.session.close()
