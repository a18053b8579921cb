"""The one small interface every platform connector implements.

A connector turns a platform's API into normalised :class:`Mention` objects, one page at a time,
and posts replies back. It never touches the database: ingest stores what it returns and keeps its
cursor, so a connector only has to be faithful to its platform.
"""

from __future__ import annotations

import copy
import hashlib
import math
import unicodedata
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Annotated, Any, ClassVar, Protocol, get_args
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from connectors.keywords import comparable

# The longest interval or timeout a setting may ask for: longer ones overflow datetime arithmetic in
# schedule and the poll leases, and no poll needs to wait more than a week.
MAX_SETTING_SECONDS = 7 * 24 * 3600.0
# How long to wait when a platform asks for a pause without saying (readably) how long.
DEFAULT_RETRY_AFTER_SECONDS = 60.0


MAX_EXTERNAL_ID = 200  # the store's column width for a platform's id (ingest refuses longer ones)


def storable_id(value: str) -> str:
    """A platform id as stored: itself, or its SHA-256 when longer than the store's ids (a did:web
    author's at-URI, a feed's long guid); keep the full value in the mention's raw payload."""
    return value if len(value) <= MAX_EXTERNAL_ID else "sha256:" + hashlib.sha256(value.encode()).hexdigest()


class ConnectorError(Exception):
    """A connector could not do what was asked; the message is safe to show and log."""

    #: Set when only one of a query's sources failed (see :func:`fetch_in_rounds`): the page to
    #: store in its place, holding nothing and the cursor moved on to the other sources.
    resume: FetchResult | None = None
    #: Billable reads of an answer the platform served (and billed) before this error refused it: they
    #: count against the daily cap all the same (on a ``resume`` page, as its ``units_used``).
    units_used: int = 0


class RateLimited(ConnectorError):
    """The platform asked us to wait. ``retry_after`` is seconds from now."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        # Headers can say anything (milliseconds, "inf", "nan"); the poller adds this to a datetime, which
        # overflows on a huge wait and stalls forever on an infinite one.
        wait = float(retry_after)
        if not math.isfinite(wait):
            wait = DEFAULT_RETRY_AFTER_SECONDS
        self.retry_after = min(max(0.0, wait), MAX_SETTING_SECONDS)


class BadPayload(ConnectorError):
    """The platform answered with something we cannot read (malformed JSON, missing fields)."""


class UnexpectedError(ConnectorError):
    """A source's read raised something other than a ConnectorError: a connector bug, or a payload it did
    not foresee. Its cause (``__cause__``) holds the traceback; the message names only its type, as its
    text may quote the payload."""


def connector_error(exc: Exception) -> ConnectorError:
    """``exc`` itself if it is a ConnectorError; anything else (a connector bug, a payload it did not
    foresee) as an :class:`UnexpectedError` caused by it."""
    if isinstance(exc, ConnectorError):
        return exc
    error = UnexpectedError(f"unexpected {exc.__class__.__name__} while reading it "
                            "(its traceback is in the worker's log)")
    error.__cause__ = exc
    return error


class DeliveryUnknown(ConnectorError):
    """The reply request went out but no answer came back (e.g. a timeout): it may have posted.

    The reply is not retried automatically; a person checks the platform first.
    """


class ReplyNotAllowed(ConnectorError):
    """The platform would refuse (or refused) this reply; retrying will not help."""


@dataclass(frozen=True)
class Capabilities:
    """What a connector can do, so the queue and reply UI can say so up front."""

    can_reply: bool = False
    # Reply only to mentions that addressed the brand directly (X self-serve since 2026).
    reply_needs_direct_mention: bool = False
    max_reply_chars: int | None = None
    # The platform dedupes replies by idempotency key, so a send cut off midway can safely be sent again...
    idempotent_replies: bool = False
    # ...but only this long after that send began: the platform forgets keys (Mastodon after an hour), and a
    # re-send past that posts the reply twice. None: it never forgets them.
    idempotency_window: timedelta | None = None
    # How the platform counts a reply against max_reply_chars, and what it calls the unit.
    reply_length: Callable[[str], int] = len
    length_unit: str = "characters"
    # A second cap some platforms set on the text's UTF-8 size (Bluesky: 3,000 bytes beside 300 graphemes).
    max_reply_bytes: int | None = None


@dataclass(frozen=True)
class Query:
    """One brand search a connector runs; ``key`` names its cursor and is stable across runs."""

    key: str
    brand: str
    keywords: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    # The brand's own account on this platform (without @ or u/), if it has one.
    handle: str | None = None
    # Platform-specific search text that replaces the one built from keywords/exclude.
    raw: str | None = None


# Double quotes, typed or as an editor curls them: X, Reddit and Hacker News searches drop '"', but feeds and Reddit
# comments (connectors.keywords) looked for the quote marks themselves, so a quoted phrase was never found there.
_QUOTES = frozenset('"\u201c\u201d\u201e')


def control_character_in(text: str, allowed: str = "") -> bool:
    """Whether ``text`` holds a control character (Unicode category Cc) other than those ``allowed``: PostgreSQL
    stores no NUL, and none of them belongs in a name, a search or a URL."""
    return any(unicodedata.category(c) == "Cc" and c not in allowed for c in text)


CONTROL_CHARACTER_REFUSED = "holds a control character (a NUL, a line break, a tab…): remove it"


def search_term(term: str) -> str:
    """A keyword as written in the config file, stripped; a ValueError for one that holds a control character, nothing
    to find (no letter, digit or symbol once the characters that show nothing are gone, as keyword matching drops them:
    a lone zero-width space or Hangul filler; "C++", "AT&T" and an emoji are fine) or double quotes."""
    term = term.strip()
    if control_character_in(term):
        raise ValueError(CONTROL_CHARACTER_REFUSED)
    if not any(unicodedata.category(c)[0] in "LNS" for c in comparable(term)):
        raise ValueError(f"{term!r} holds no letter, digit or symbol to search for")
    if _QUOTES.intersection(unicodedata.normalize("NFKC", term)):
        raise ValueError(f"{term!r}: write it without quotes; the words of a phrase are searched together already")
    return term


@dataclass(frozen=True)
class Mention:
    """A post that mentions a brand, normalised across platforms."""

    platform: str
    external_id: str
    text: str
    created_at: datetime
    url: str | None = None
    author_handle: str | None = None
    author_name: str | None = None
    author_followers: int | None = None
    lang: str | None = None
    thread_id: str | None = None
    parent_id: str | None = None
    # Whether the brand can reply to it through the platform's API (X: only direct @mentions/quotes).
    replyable: bool = False
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class FetchResult:
    """One page of mentions and the cursor to store with it, in the same transaction."""

    mentions: list[Mention]
    next_cursor: str | None
    # More pages are waiting now; the poller fetches again (up to its page limit) before moving on.
    has_more: bool = False
    # Opaque data handed back to :meth:`Connector.acknowledge` once this page is committed.
    ack: Any = None
    # Billable reads this page cost (X bills per post read); counted per day against the cap.
    units_used: int = 0
    # The source that failed, and the same with its error as the poller reports it, on a ConnectorError.resume page.
    failed_source: str | None = None
    source_error: str | None = None


class RoundCursor(Protocol):
    """A cursor that works through a query's sources in rounds: those left in this one, in order."""

    pending: list[str]

    def dump(self) -> str: ...


def fetch_in_rounds(cursor: RoundCursor, sources: list[str],
                    fetch_source: Callable[[list[str]], FetchResult]) -> FetchResult:
    """The next page of the round's first pending source: ``fetch_source(pending)``, which moves
    ``cursor`` on. A round starts over with ``sources`` once none is pending (or none still configured).

    A source's error is raised carrying, as :attr:`ConnectorError.resume`, the page to store in its
    place: nothing from it, and ``cursor`` as it was before the read (so nothing half-read is marked
    read), moved on to the round's other sources. Without it the cursor stayed on the failing source,
    so one feed gone or one scope missing stopped every other source of the connector for good. Any
    other exception (a bug, a payload the connector did not foresee) is raised as an
    :class:`UnexpectedError` with the same page, for the same reason. That page's ``units_used`` are
    the error's: an answer the platform billed and the connector then refused. The poller stores that
    page and reports the error; the source is tried again next round. A rate limit holds for the whole
    client: it carries none.
    """
    pending = [s for s in cursor.pending if s in sources] or list(sources)
    before = copy.deepcopy(cursor)
    try:
        return fetch_source(pending)
    except RateLimited:
        raise
    except ConnectorError as exc:
        _resumable(exc, before, pending)
        raise
    except Exception as exc:
        raise _resumable(connector_error(exc), before, pending) from exc


def _resumable(exc: ConnectorError, cursor: RoundCursor, pending: list[str]) -> ConnectorError:
    cursor.pending = pending[1:]
    # The failed read's billed units go with the page stored in its place, so they count against the cap.
    exc.resume = FetchResult([], next_cursor=cursor.dump(), has_more=bool(cursor.pending),
                             units_used=exc.units_used, failed_source=pending[0],
                             source_error=f"{pending[0]}: {exc}")
    return exc


@dataclass(frozen=True)
class ReplyTarget:
    """The stored mention a reply answers."""

    platform: str
    external_id: str
    replyable: bool
    thread_id: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PostedReply:
    external_id: str
    url: str | None = None


def _web_url(url: str) -> str:
    """An http(s) URL with a host, checked at start-up rather than failing at every poll; not echoed back."""
    try:
        parts = urlsplit(url)
        port = parts.port  # ValueError for a port that is not a number or out of range
        fetchable = parts.scheme in ("http", "https") and bool(parts.hostname) and port != 0
    except ValueError:  # also an unbalanced [ in the host
        fetchable = False
    if not fetchable or any(c.isspace() for c in url):
        raise ValueError("must be an http:// or https:// URL with a host, e.g. https://example.com/path")
    return url


# A URL a connector fetches from: a feed, an API base or a token endpoint.
WebUrl = Annotated[str, AfterValidator(_web_url)]


def _takes_numbers_only(annotation: Any) -> bool:
    """Whether a field of this type holds numbers (alone, in a list or dict, or None) and never true or false."""
    types, pending = set(), [annotation]
    while pending:  # through unions, Annotated, list[...] and dict[...]
        part = pending.pop()
        if isinstance(part, type) or part is Any:
            types.add(part)
        pending.extend(get_args(part))
    return bool(types & {int, float}) and not types & {bool, Any}


def _holds_bool(value: Any) -> bool:
    """Whether ``value`` is true or false, or a list or table holding one."""
    if isinstance(value, dict):
        return any(map(_holds_bool, value.values()))
    if isinstance(value, list | tuple):
        return any(map(_holds_bool, value))
    return isinstance(value, bool)


class SettingsTable(BaseModel):
    """A table of the config file: ``[connectors.<name>]``, ``[alerts]`` and the rest. Unknown keys are errors."""

    # No NaN or infinity in any number ("must be a finite number"): infinity passes gt/ge and then
    # overflows schedule and timedelta.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _no_true_or_false_for_a_number(cls, value: Any, info: ValidationInfo) -> Any:
        # pydantic reads true as 1 and false as 0: `daily_read_cap = true` stopped polling after one read a day.
        if info.field_name is not None and _holds_bool(value) \
                and _takes_numbers_only(cls.model_fields[info.field_name].annotation):
            raise ValueError("true and false are not numbers: write a number")
        return value


class ConnectorSettings(SettingsTable):
    """Base for each connector's ``[connectors.<name>]`` table."""

    enabled: bool = True
    # At least 0.1 s: schedule loops forever on an interval that rounds to 0 microseconds.
    poll_interval_seconds: float = Field(default=60.0, ge=0.1, le=MAX_SETTING_SECONDS)
    # A poll that runs longer than this is recorded as failed and backs off.
    timeout_seconds: float = Field(default=120.0, gt=0, le=MAX_SETTING_SECONDS)
    # Pages fetched per query per poll round, so one busy query cannot starve the rest.
    max_pages_per_poll: int = Field(default=10, ge=1)
    # Stop polling for the rest of the (UTC) day once this many billable reads were used. A cap of 0
    # would stop every poll, billable or not: that is `enabled = false`.
    daily_read_cap: int | None = Field(default=None, ge=1)


class Connector(ABC):
    """A platform. Subclasses set ``name``, ``Settings`` and ``capabilities``.

    ``secrets`` holds values from ``MENTIONDESK_<NAME>_<KEY>`` environment variables (lower-case
    keys); they are never logged or shown.
    """

    name: ClassVar[str]
    Settings: ClassVar[type[ConnectorSettings]] = ConnectorSettings
    capabilities: ClassVar[Capabilities] = Capabilities()
    # Secret names this connector needs, e.g. ("bearer_token",); missing ones stop start-up.
    required_secrets: ClassVar[tuple[str, ...]] = ()
    # Keys of a mention's ``raw`` that :meth:`reply` reads (ReplyTarget.raw), e.g. ("acct", "visibility"):
    # retention keeps exactly these when it clears the rest of the payload, so old mentions can still be
    # answered as they were posted.
    reply_raw_keys: ClassVar[tuple[str, ...]] = ()
    # What goes before a user's handle in a post to notify them, the usual form first (Reddit: "u/" and
    # "/u/"): a past reply offered for a new author must not notify the earlier one (monitor.suggestions).
    handle_prefixes: ClassVar[tuple[str, ...]] = ("@",)

    @classmethod
    def privacy(cls, raw: dict[str, Any]) -> int | None:
        """How few can read a stored mention's conversation, from what retention keeps of its payload
        (``reply_raw_keys``): 0 where anyone can, higher for fewer; None where what was kept does not say. A past
        reply, which may hold its customer's address or order, is suggested only for a mention at least as private
        (monitor.suggestions). A platform whose posts are all public keeps this default."""
        return 0

    def __init__(self, settings: ConnectorSettings, secrets: dict[str, str] | None = None) -> None:
        self.settings = settings
        self.secrets = dict(secrets or {})

    @abstractmethod
    def fetch(self, query: Query, cursor: str | None) -> FetchResult:
        """Return the next page of mentions for ``query`` newer than ``cursor`` (None: first run)."""

    def acknowledge(self, ack: Any) -> None:
        """Called after a page's mentions are committed (e.g. mark inbox items read)."""

    def reply_prefix(self, target: ReplyTarget, text: str) -> str:
        """What :meth:`reply` puts in front of ``text`` (Mastodon: the author's @acct), which the platform's
        length limit counts too."""
        return ""

    def why_not_replyable(self, target: ReplyTarget) -> str | None:
        """Why no reply to ``target`` can go out, whatever its text, as far as what was stored of it tells (Mastodon:
        without its author's account a reply reaches no one); None where one may. Asked before a reply is drafted
        or sent (monitor.replies), and by :meth:`reply` itself."""
        return None

    def reply(self, target: ReplyTarget, text: str, idempotency_key: str) -> PostedReply:
        """Post ``text`` as a reply to ``target``. Raises ReplyNotAllowed or ConnectorError."""
        raise ReplyNotAllowed(f"{self.name} does not support replies")

    def close(self) -> None:
        """Release network resources."""
