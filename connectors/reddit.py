"""Reddit through praw: submission search, comment scanning, the inbox's username mentions, replies.

One :class:`~connectors.base.Query` covers three sources, each with its own sub-cursor in the JSON
cursor: ``search`` (``subreddit.search(sort="new")`` in ``search_subreddits``), ``comments``
(``subreddit.comments`` in ``comment_subreddits``, kept when they contain a keyword) and
``mentions`` (``inbox.mentions`` for the brand account). A sub-cursor is the fullname of the newest
item read; the next page asks for ``before`` it, which on Reddit returns the items just newer than
it, oldest of them first in line. So every page moves the cursor forward without gaps, and a
restart continues exactly there. The first poll of a source reads only its newest page; one that finds the
source empty stores an anchor below every id, so the next reads all that came since. One odd item
does not stop its source: an item without an author, subreddit, text or readable ``created_utc`` is
read without them, and one without a base-36 id is set aside (see `RedditConnector._mention`). Items the
brand account wrote itself (its own replies naming the brand) are dropped from every source.
"""

from __future__ import annotations

import json
import logging
import math
import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any, ClassVar, Literal, NamedTuple
from urllib.parse import urlsplit

import praw
import praw.exceptions
import prawcore
import requests
from praw.models import Comment, Submission
from praw.models.listing.generator import ListingGenerator
from pydantic import Field
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from connectors import keywords
from connectors._http import (
    HttpSettings,
    check_reply_connect_deadline,
    never_connected,
    reply_connect_deadline,
    retry_after,
    retry_policy,
)
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
    fetch_in_rounds,
)

log = logging.getLogger("mentiondesk.connectors.reddit")

REDDIT_URL = "https://www.reddit.com"
MAX_COMMENT_CHARS = 10_000
# Pages read back from the newest when the cursor's item was deleted (or the source was found empty), before
# giving up on older ones.
MAX_GAP_PAGES = 10
# Items marked read by one read_message request (Reddit's limit).
MARK_READ_BATCH = 25
# prawcore reads all three on every answer and raises ValueError/KeyError unless they are whole numbers.
_LIMIT_HEADERS = ("x-ratelimit-remaining", "x-ratelimit-used", "x-ratelimit-reset")
_FULLNAME = re.compile(r"t[13]_[0-9a-z]+")
# An inbox item's context, which stands in for its permalink and link_id (praw reads the thread from it too):
# "/r/<subreddit>/comments/<submission id>/<slug>/<comment id>/?context=3".
_CONTEXT = re.compile(r"(/r/[^/?#]+/comments/([0-9a-z]+)/[^/?#]*/[0-9a-z]+/?)(?:[?#].*)?")
# Reddit API errors on a reply that retrying cannot fix.
_REPLY_REFUSALS = {"THREAD_LOCKED", "TOO_OLD", "DELETED_COMMENT", "DELETED_LINK", "INVALID_PARENT", "USER_BLOCKED",
                   "SOMETHING_IS_BROKEN", "BANNED_FROM_SUBREDDIT", "NOT_WHITELISTED_BY_USER_MESSAGE"}


class _ReplyOutcomeUnknown(Exception):
    """A reply POST got no answer, or a 5xx one. Not a requests error, so prawcore does not resend it."""


class _RedditAdapter(HTTPAdapter):
    """Refuses every request while the rate-limit window is used up (``check_limits`` raises
    :class:`RateLimited`, which reaches the caller inside a ``prawcore.RequestException`` and is not
    retried), applies ``request_timeout_seconds`` (praw passes prawcore's fixed 16 s whatever its ``timeout``
    setting says) and sends reply POSTs once: prawcore retries timeouts and 502/503/504 for every
    method, which for a reply means posting it again although the first may well have been posted. Only a
    connection never made (refused, timed out, a name that did not resolve) is left to prawcore's retry: then
    nothing was sent. But no request of a reply's send starts past its deadline to connect (prawcore's retries
    went on for 3 times urllib3's): ``ConnectDeadlinePassed`` instead, not retried either. The reply endpoint
    is matched on the path's end: an ``oauth_url`` with a path (a proxy) puts it in front."""

    def __init__(self, timeout: float, retries: Retry, check_limits: Callable[[], None]) -> None:
        super().__init__(max_retries=retries)
        self.timeout = timeout
        self.check_limits = check_limits

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        self.check_limits()
        check_reply_connect_deadline("Reddit")
        kwargs["timeout"] = self.timeout
        if request.method != "POST" or not urlsplit(request.url).path.rstrip("/").endswith("/api/comment"):
            return super().send(request, **kwargs)
        try:
            response = super().send(request, **kwargs)
            # requests reads the body after this method returns, out of reach of this guard: a connection
            # dropped mid-answer would reach prawcore as a plain requests error, and it would post again.
            response.content  # noqa: B018 - reads the body now
        except requests.RequestException as exc:
            if isinstance(exc, requests.ConnectTimeout) or never_connected(exc):
                raise  # never sent: prawcore's retry is safe
            raise _ReplyOutcomeUnknown(f"no answer: {exc.__class__.__name__}") from None
        if response.status_code >= 500:
            raise _ReplyOutcomeUnknown(f"answered {response.status_code}")
        return response


Source = Literal["search", "comments", "mentions"]
SOURCES: tuple[Source, ...] = ("search", "comments", "mentions")


class RedditSettings(HttpSettings):
    # The API and token endpoints: reddit.com, or the local emulator.
    oauth_url: WebUrl = "https://oauth.reddit.com"
    reddit_url: WebUrl = REDDIT_URL
    user_agent: str = Field(default="mentiondesk/0.1 (brand mention monitor)", min_length=7)
    # Submissions are searched here ("all": everywhere); empty: no submission search.
    search_subreddits: list[str] = ["all"]
    # Comments here are scanned for the brand's keywords; empty: no comment scanning.
    comment_subreddits: list[str] = []
    # Read the brand account's inbox for u/ mentions (needs the account's credentials).
    inbox_mentions: bool = True
    page_size: int = Field(default=100, ge=1, le=100)


@dataclass
class _Cursor:
    pending: list[Source] = field(default_factory=list)  # sources left in this round
    # Per source: the fullname of the newest item read; _FOUND_EMPTY[source] once a poll found nothing there.
    search: str | None = None
    comments: str | None = None
    mentions: str | None = None

    @classmethod
    def load(cls, text: str | None) -> "_Cursor":
        if not text:
            return cls()
        try:
            data = json.loads(text)
            anchors = {s: data.get(s) for s in SOURCES}
            if not all(a is None or (isinstance(a, str) and _FULLNAME.fullmatch(a)) for a in anchors.values()):
                raise ValueError("not a fullname")
            return cls(pending=[s for s in data.get("pending", []) if s in SOURCES], **anchors)
        except (ValueError, TypeError, AttributeError):
            raise ConnectorError("stored Reddit cursor is unreadable; reset this query's cursor to start over") from None

    def dump(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))


def build_search_query(query: Query) -> str:
    """Reddit (lucene) search text: keywords OR-joined, phrases quoted, excluded terms NOT-ed."""
    if query.raw:
        return query.raw

    def term(word: str) -> str:
        word = word.replace('"', "")
        return f'"{word}"' if any(c.isspace() for c in word) else word

    text = " OR ".join(term(k) for k in query.keywords)
    if len(query.keywords) > 1 and query.exclude:
        text = f"({text})"
    return " ".join([text, *(f"NOT {term(e)}" for e in query.exclude)])


@dataclass(frozen=True)
class _Item:
    """A listing item as the JSON it came as: ``kind`` t1 (a comment) or t3 (a submission), and its data."""

    kind: str
    data: dict[str, Any]

    @property
    def fullname(self) -> str | None:
        """``t1_…``/``t3_…``; None for an item without a base-36 id: it can neither be stored nor placed in
        the listing (the id orders things, see _order)."""
        name = f"{self.kind}_{self.data.get('id')}"
        return name if _FULLNAME.fullmatch(name) else None


class _Page(NamedTuple):
    """A listing page's items, newest first, and its ``after``: the fullname to ask for the next older page
    by, None at the listing's end. A page may hold fewer than asked with more after it: Reddit leaves out
    the items the reader may not see (removed, spam-filtered, by a blocked author)."""

    items: list[_Item]
    after: str | None


def _text(value: Any) -> str | None:
    """A JSON string, or None in place of anything else (null, a number)."""
    return value if isinstance(value, str) else None


def _limit_value(headers: Any, name: str) -> float | None:
    """One x-ratelimit-* header as a finite number, or None: each is read on its own, so one odd header
    does not throw away a readable remaining or reset."""
    try:
        value = float(headers[name])
    except (KeyError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _matches(text: str, query: Query) -> bool:
    """Comment scanning: a keyword (or u/handle) appears, as connectors.keywords finds it, and no excluded term."""
    return keywords.matches(text, [*query.keywords, *([f"u/{query.handle}"] if query.handle else [])], query.exclude)


def _order(fullname: str) -> int:
    """Reddit ids are base-36 counters, so they order things by age."""
    return int(fullname.partition("_")[2], 36)


# The anchor a first poll that found its source empty stores: below every Reddit id, so the next poll reads
# all that came since (as after a deleted anchor) instead of only the newest page, which lost the rest.
_FOUND_EMPTY: dict[Source, str] = {"search": "t3_0", "comments": "t1_0", "mentions": "t1_0"}


class RedditConnector(Connector):
    name = "reddit"
    Settings = RedditSettings
    capabilities = Capabilities(can_reply=True, max_reply_chars=MAX_COMMENT_CHARS)
    required_secrets: ClassVar[tuple[str, ...]] = ("client_id", "client_secret")
    # Why a mention is not replyable: a locked or archived thread, or read before the account was set up.
    reply_raw_keys: ClassVar[tuple[str, ...]] = ("locked", "archived")
    handle_prefixes: ClassVar[tuple[str, ...]] = ("u/", "/u/")  # "u/ana" and "/u/ana" notify her
    settings: RedditSettings

    def __init__(self, settings: ConnectorSettings, secrets: dict[str, str] | None = None) -> None:
        super().__init__(settings, secrets)
        # From the last x-ratelimit-* headers: requests left and when the window resets (monotonic).
        self._remaining: float | None = None
        self._reset_at = 0.0
        # Stored inbox mentions a used-up window kept acknowledge() from marking read: handed back with the
        # next mentions page's ack, as the poller acknowledges each page once.
        self._unmarked: list[str] = []
        session = requests.Session()
        for prefix in ("https://", "http://"):  # prawcore retries 5xx again on top
            session.mount(prefix, _RedditAdapter(self.settings.request_timeout_seconds, retry_policy(self.settings),
                                                 self._check_limits))
        session.hooks["response"].append(self._remember_limits)
        self._session = session
        credentials: dict[str, str] = {}
        if self.secrets.get("username") and self.secrets.get("password"):
            credentials = {"username": self.secrets["username"], "password": self.secrets["password"]}
        elif self.secrets.get("refresh_token"):
            credentials = {"refresh_token": self.secrets["refresh_token"]}
        self.can_act_as_user = bool(credentials)
        self.reddit = praw.Reddit(
            client_id=self.secrets.get("client_id"),
            client_secret=self.secrets.get("client_secret"),
            user_agent=self.settings.user_agent,
            oauth_url=self.settings.oauth_url,
            reddit_url=self.settings.reddit_url,
            check_for_updates=False,
            # praw sleeps through RATELIMIT answers up to this long; we report them instead.
            ratelimit_seconds=0,
            requestor_kwargs={"session": session},
            **credentials,
        )

    # -- rate limits -----------------------------------------------------------------------------

    def _remember_limits(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        """A response hook: runs before prawcore reads the x-ratelimit-* headers, so it also leaves them
        in a form prawcore can read (whole numbers, a reset no more than MAX_SETTING_SECONDS away, a used count
        not below 0: prawcore divides by remaining + used), or without x-ratelimit-remaining unless all three
        are readable (one request counted). Remaining and reset are kept each on its own: a 429's RateLimited
        reads the reset, and a used-up window without a readable reset is waited out for the default.

        When nothing remains, prawcore's RateLimiter sleeps until the reset before its next request, which
        may come within the same call: praw's mark_read sends one POST per 25 items, prawcore retries a 5xx.
        prawcore has no setting for that, nor a way to give a session another limiter, so it is not told:
        without x-ratelimit-remaining it counts the answer as one request and does not wait, and the
        adapter's check_limits refuses the next request with RateLimited instead."""
        remaining, used, reset_in = (_limit_value(response.headers, name) for name in _LIMIT_HEADERS)
        if used is not None:
            used = max(used, 0.0)
        if reset_in is not None:
            reset_in = min(max(reset_in, 0.0), MAX_SETTING_SECONDS)  # seconds from now, not an epoch
        for name, value in zip(_LIMIT_HEADERS, (remaining, used, reset_in)):
            if value is None:
                response.headers.pop(name, None)
            else:
                response.headers[name] = str(int(value))
        if remaining is None or used is None or reset_in is None or remaining < 1:
            response.headers.pop("x-ratelimit-remaining", None)
        if remaining is not None:
            wait = DEFAULT_RETRY_AFTER_SECONDS if reset_in is None else reset_in
            self._remaining, self._reset_at = remaining, time.monotonic() + wait

    def _check_limits(self) -> None:
        """Refuse every request while the window is used up: prawcore would sleep until it resets (see
        _remember_limits), blocking the poller."""
        wait = self._reset_at - time.monotonic()
        if self._remaining is not None and self._remaining < 1 and wait > 0:
            raise RateLimited("Reddit request quota used up until its window resets", wait)

    def _rate_limited(self, response: requests.Response) -> RateLimited:
        try:
            wait = float(response.headers["x-ratelimit-reset"])
        except (KeyError, ValueError):
            wait = retry_after(response)  # seconds or an HTTP date, else the default
        return RateLimited("Reddit answered 429 Too Many Requests", wait)

    def _translate(self, exc: Exception, doing: str) -> ConnectorError:
        """praw/prawcore errors as connector errors whose text is safe to show."""
        if isinstance(exc, prawcore.RequestException) and isinstance(exc.original_exception, ConnectorError):
            return exc.original_exception  # refused before sending (see _RedditAdapter)
        if isinstance(exc, prawcore.TooManyRequests):
            return self._rate_limited(exc.response)
        if isinstance(exc, prawcore.BadJSON):
            return BadPayload(f"Reddit answered {doing} with malformed JSON")
        if isinstance(exc, prawcore.OAuthException):
            return ConnectorError(f"Reddit refused the app's credentials ({exc.error}); check MENTIONDESK_REDDIT_* secrets")
        if isinstance(exc, (prawcore.InvalidToken, prawcore.Forbidden)):
            return ConnectorError(f"Reddit refused {doing} ({exc.response.status_code}): the account lacks access")
        if isinstance(exc, prawcore.ServerError):
            return ConnectorError(f"Reddit server error {exc.response.status_code} while {doing}, after retries")
        if isinstance(exc, prawcore.ResponseException):
            return ConnectorError(f"Reddit answered {exc.response.status_code} while {doing}")
        if isinstance(exc, prawcore.RequestException):
            return ConnectorError(f"cannot reach Reddit while {doing} ({exc.original_exception.__class__.__name__})")
        return ConnectorError(f"Reddit error while {doing}: {exc.__class__.__name__}")

    # -- fetching --------------------------------------------------------------------------------

    def _sources(self, query: Query) -> list[Source]:
        sources: list[Source] = []
        if self.settings.search_subreddits and (query.raw or query.keywords):
            sources.append("search")
        if self.settings.comment_subreddits and query.keywords:
            sources.append("comments")
        if self.settings.inbox_mentions and query.handle:
            sources.append("mentions")  # without the account it fails on its own (see _check_account)
        if not sources:
            raise ConnectorError(f"query {query.key!r} has nothing to read on Reddit: give it keywords or a reddit handle")
        return sources

    def _check_account(self, query: Query) -> None:
        """Refuse the mentions source without the brand's account. Checked as that source is read, so it is
        that source's error alone: raised from :meth:`_sources` it stopped search and comments too."""
        if not self.can_act_as_user:
            raise ConnectorError(
                f"reading u/{query.handle}'s mentions needs the account: set MENTIONDESK_REDDIT_USERNAME and "
                "MENTIONDESK_REDDIT_PASSWORD (or MENTIONDESK_REDDIT_REFRESH_TOKEN), or set inbox_mentions = false"
            )
        username = self.secrets.get("username")
        if username and username.lower() != (query.handle or "").lower():
            raise ConnectorError(f"the reddit handle u/{query.handle} is not the account the secrets log in as")

    def _generator(self, source: Source, query: Query, params: dict[str, str]) -> ListingGenerator:
        limit = self.settings.page_size
        if source == "search":
            subreddit = self.reddit.subreddit("+".join(self.settings.search_subreddits))
            return subreddit.search(build_search_query(query), sort="new", limit=limit, params=params)  # type: ignore[return-value]
        if source == "comments":
            return self.reddit.subreddit("+".join(self.settings.comment_subreddits)).comments(limit=limit, params=params)  # type: ignore[return-value]
        return self.reddit.inbox.mentions(limit=limit, params=params)  # type: ignore[return-value]

    def _page(self, source: Source, query: Query, params: dict[str, str]) -> _Page:
        """One listing page: exactly one request, so one page is one cursor step. Read as the JSON it came as,
        not as praw's objects of it: praw refuses the whole page for one item it cannot build (one without an
        id, say), and the source then failed on every poll."""
        generator = self._generator(source, query, params)
        try:
            answer = self.reddit.request(method="GET", path=generator.url, params=generator.params)
        except (prawcore.PrawcoreException, praw.exceptions.PRAWException) as exc:
            raise self._translate(exc, f"reading {source}") from None
        except (ValueError, TypeError, KeyError, AttributeError):
            # praw reads a 400's error body as it expects one (a "reason"), and raises these on another.
            raise BadPayload(f"Reddit answered {source} with an error praw cannot read") from None
        listing = answer.get("data") if isinstance(answer, dict) and answer.get("kind") == "Listing" else None
        children = listing.get("children") if isinstance(listing, dict) else None
        if not isinstance(children, list):
            raise BadPayload(f"Reddit answered {source} with something that is not a Listing")
        items = []
        for child in children:
            kind = child.get("kind") if isinstance(child, dict) else None
            if kind not in ("t1", "t3"):
                raise BadPayload(f"Reddit {source} listing holds a {kind!r}, not a comment or submission")
            data = child.get("data")
            items.append(_Item(kind, data if isinstance(data, dict) else {}))
        after = listing.get("after")
        return _Page(items, after if isinstance(after, str) and _FULLNAME.fullmatch(after) else None)

    def fetch(self, query: Query, cursor: str | None) -> FetchResult:
        state = _Cursor.load(cursor)
        sources = self._sources(query)
        return fetch_in_rounds(state, sources, lambda pending: self._fetch_source(query, state, pending))

    def _fetch_source(self, query: Query, state: _Cursor, pending: list[Source]) -> FetchResult:
        """The next page of the round's first pending source."""
        source = pending[0]
        if source == "mentions":
            self._check_account(query)
        anchor: str | None = getattr(state, source)  # None: a first poll
        # No item has the found-empty anchor's id: asked "before" it, Reddit answers nothing, so it is not asked.
        found_empty = anchor == _FOUND_EMPTY[source]
        items = [] if found_empty else self._page(source, query, {"before": anchor} if anchor else {}).items
        full_page = len(items) >= self.settings.page_size
        if anchor and not items:
            # Nothing "before" the anchor can also mean the anchor itself was deleted or removed:
            # then reddit answers empty forever.
            items, full_page = self._newer_than(source, query, anchor), False
        mentions = [m for m in (self._mention(i, source, query) for i in items) if m is not None]
        names = [i.fullname for i in items if i.fullname]
        newest = max(names, key=_order, default=anchor)
        if newest is None and not items:  # a first poll that found the source empty: all that comes later is new
            newest = _FOUND_EMPTY[source]
        setattr(state, source, newest)
        # A first poll reads one page; a short page means caught up; and a page with no id to place it by
        # cannot lead on (asked again, it would come the same).
        if not (anchor and full_page and names):
            pending = pending[1:]
        state.pending = pending
        ack = [i.fullname for i in items if source == "mentions" and i.fullname and i.data.get("new")]
        if source == "mentions" and self._unmarked:  # stored earlier, left unread by a used-up window
            ack = list(dict.fromkeys([*self._unmarked, *ack]))
        return FetchResult(mentions, next_cursor=state.dump(), has_more=bool(pending), ack=ack or None)

    def _newer_than(self, source: Source, query: Query, anchor: str) -> list[_Item]:
        """What came since an anchor that no longer exists (or never did: _FOUND_EMPTY): Reddit ids grow with
        time, so the items with higher ids, read from the newest page back (the listing's ``after``, as praw
        pages) to one at or below the anchor. A short page is not the end: Reddit leaves items out of a page
        (see _Page). An item with no id cannot be placed: it is read (and set aside) with those around it."""
        newer: list[_Item] = []
        params: dict[str, str] = {}
        for _ in range(MAX_GAP_PAGES):
            page = self._page(source, query, params)
            above = [i for i in page.items if not i.fullname or _order(i.fullname) > _order(anchor)]
            newer += above
            if len(above) < len(page.items) or page.after is None:
                return newer  # reached the anchor's place, or the listing's end
            params = {"after": page.after}
        log.warning("Reddit %s for %s: more than %d pages came since the item the cursor stood on (gone) or the "
                    "poll that found the source empty; older ones were not read", source, query.key, MAX_GAP_PAGES)
        return newer

    def _mention(self, item: _Item, source: Source, query: Query) -> Mention | None:
        """The item as far as it can be read. Without an author, a subreddit or text it is read without them;
        with no readable ``created_utc``, dated when fetched. Refusing the page for it stopped the source on
        every poll, and the items after it were never read."""
        data, name = item.data, item.fullname
        context = _CONTEXT.fullmatch(_text(data.get("context")) or "")  # inbox items: no permalink, no link_id
        permalink = _text(data.get("permalink")) or (context.group(1) if context else None)
        if item.kind == "t1":
            text, thread_id, parent_id = (_text(data.get(k)) for k in ("body", "link_id", "parent_id"))
            thread_id = thread_id or (f"t3_{context.group(2)}" if context else None)
        else:
            text = "\n\n".join(filter(None, (_text(data.get("title")), _text(data.get("selftext")))))
            thread_id, parent_id = name, None
        if source == "comments" and not _matches(text or "", query):
            return None
        if self._by_brand(data, query):
            return None  # the brand's own post or reply (one naming the brand came back as a mention)
        sent = data.get("created_utc")
        try:
            created_at: datetime | None = datetime.fromtimestamp(float(sent), tz=timezone.utc)
        except (TypeError, ValueError, OverflowError, OSError):  # OSError: past the C library's years
            created_at = None
        author, subreddit = _text(data.get("author")), _text(data.get("subreddit"))
        missing = [field for field, value in (("a base-36 id", name), ("author", author), ("text", text),
                                              ("subreddit", subreddit)) if not value]
        if created_at is None:
            missing.append("a readable created_utc")
        if missing:  # named by id only: never its text
            log.warning("Reddit %s item %r lacks %s; read without it", source, str(data.get("id", ""))[:40],
                        ", ".join(missing))
        locked, archived = bool(data.get("locked")), bool(data.get("archived"))
        raw = {"source": source, "locked": locked, "archived": archived, "subreddit": subreddit,
               **{k: data.get(k) for k in ("score", "link_title", "num_comments")}}
        if name is None:
            raw["id_as_sent"] = data.get("id")
        if created_at is None:  # dated when fetched, as ingest does with an unbelievable date
            created_at, raw["created_at_as_sent"] = datetime.now(timezone.utc), sent
        if author == "[deleted]":  # a deleted account
            author = None
        return Mention(
            platform=self.name,
            # Without a base-36 id it cannot be stored: ingest sets it aside in the audit log, whole.
            external_id=name or "",
            text=text or "",
            created_at=created_at,
            url=REDDIT_URL + permalink if permalink else None,  # kept without its link
            author_handle=author,
            author_name=author,
            lang=None,  # Reddit does not say; sentiment detects it
            thread_id=thread_id,
            parent_id=parent_id,
            replyable=self.can_act_as_user and not locked and not archived,
            raw=raw,
        )

    def _by_brand(self, data: dict[str, Any], query: Query) -> bool:
        """Written by the brand account: ``query.handle``, or the username the connector logs in as.
        Reddit usernames are case-insensitive."""
        author = _text(data.get("author"))
        own = (query.handle, self.secrets.get("username") if self.can_act_as_user else None)
        return author is not None and author.lower() in {name.lower() for name in own if name}

    def acknowledge(self, ack: Any) -> None:
        """Mark inbox mentions read, now that they are stored, one request per MARK_READ_BATCH. Those a
        used-up window leaves unmarked are kept for the next mentions page's ack; after another failure
        they stay unread, reported (retried, they could fail every poll)."""
        left = list(ack)
        try:
            while left:
                self.reddit.inbox.mark_read([self.reddit.comment(id=name.partition("_")[2])
                                             for name in left[:MARK_READ_BATCH]])
                del left[:MARK_READ_BATCH]
        except (prawcore.PrawcoreException, praw.exceptions.PRAWException) as exc:
            error = self._translate(exc, "marking inbox mentions read (they are stored)")
            self._unmarked = left if isinstance(error, RateLimited) else []
            raise error from None
        self._unmarked = []

    # -- replying --------------------------------------------------------------------------------

    def reply(self, target: ReplyTarget, text: str, idempotency_key: str) -> PostedReply:
        if not self.can_act_as_user:
            raise ReplyNotAllowed("replying on Reddit needs the brand account's credentials (MENTIONDESK_REDDIT_USERNAME/PASSWORD)")
        if not target.replyable:
            if "locked" not in target.raw:  # stored before the reason was
                raise ReplyNotAllowed("this Reddit thread was locked or archived when it was read, or it was read "
                                      "before the Reddit account was set up; answer it on Reddit")
            if target.raw.get("locked") or target.raw.get("archived"):  # an imported raw may hold one alone
                raise ReplyNotAllowed("this Reddit thread is locked or archived")
            # Not replyable only because it was read without the account, which is set up now: Reddit itself
            # refuses (THREAD_LOCKED, TOO_OLD) should the thread have been locked or archived since.
        if len(text) > MAX_COMMENT_CHARS:
            raise ConnectorError(f"the reply is {len(text)} characters; Reddit allows {MAX_COMMENT_CHARS}")
        kind, _, thing_id = target.external_id.partition("_")
        if kind == "t1":
            parent: Comment | Submission = self.reddit.comment(id=thing_id)
        elif kind == "t3":
            parent = self.reddit.submission(id=thing_id)
        else:
            raise ReplyNotAllowed(f"cannot reply to Reddit item {target.external_id}")
        try:
            with reply_connect_deadline():
                posted = parent.reply(text)
        except praw.exceptions.RedditAPIException as exc:
            codes = {item.error_type for item in exc.items}
            if "RATELIMIT" in codes:
                raise RateLimited("Reddit asks the account to wait before commenting again", DEFAULT_RETRY_AFTER_SECONDS) from None
            detail = "; ".join(f"{item.error_type}: {item.message}" for item in exc.items)
            if codes & _REPLY_REFUSALS:
                raise ReplyNotAllowed(f"Reddit refused the reply: {detail}") from None
            raise ConnectorError(f"Reddit did not accept the reply: {detail}") from None
        except prawcore.Forbidden:
            raise ReplyNotAllowed("Reddit refused the reply (403): the account may not comment there") from None
        except prawcore.RequestException as exc:
            cause = exc.original_exception
            if isinstance(cause, _ReplyOutcomeUnknown):  # it may have been posted: never let a retry post it twice
                raise DeliveryUnknown(f"the reply request to Reddit got {cause}; "
                                      "check the thread before retrying") from None
            if isinstance(cause, requests.ConnectTimeout):
                raise ConnectorError("cannot reach Reddit to reply (connection timed out); "
                                     "nothing was posted") from None
            if why := never_connected(cause):
                raise ConnectorError(f"cannot reach Reddit to reply ({why}); nothing was posted") from None
            raise self._translate(exc, "replying") from None
        except (prawcore.PrawcoreException, praw.exceptions.PRAWException) as exc:
            raise self._translate(exc, "replying") from None
        except ValueError:  # praw could not build the comment it got back (no id): the reply was posted
            raise BadPayload("Reddit accepted the reply but its answer has no base-36 id") from None
        if posted is None:
            raise BadPayload("Reddit accepted the reply but did not return it")
        answer = _Item("t1", vars(posted))
        if answer.fullname is None:
            raise BadPayload("Reddit accepted the reply but its answer has no base-36 id")
        permalink = answer.data.get("permalink")
        return PostedReply(external_id=answer.fullname, url=REDDIT_URL + permalink if permalink else None)

    def close(self) -> None:
        self._session.close()
