"""Mastodon through Mastodon.py: status search, hashtag timelines, the account's mention notifications.

One query reads several sources, each with its own sub-cursor in the JSON cursor: ``search:<keyword>``
(``search_v2``; only instances with full-text search return anything; a raw query, ``queries.mastodon``, is
one source sent as written), ``tag:<hashtag>`` (``timeline_hashtag``) and ``notifications``
(``notifications(types=["mention"])``, needs the brand's handle). A sub-cursor is the newest id read. The
timelines answer ``min_id`` with the items just after it, so their pages move forward in time. Search only
*filters* by ``min_id`` (newest matches first), so a search source walks down with ``max_id`` = the oldest id
read so far, above the id it had, until a page comes back short with every status read there before on it, or
empty with none read before under it (Mastodon drops muted, blocked and limited accounts' statuses from a page
after paging, so a short page alone is no end, and an empty one is read past by ``offset``, a few at most), and
takes the newest id it saw as its new sub-cursor when the walk ends: posts arriving or deleted mid-walk cannot
shift its pages, empty ones aside (new ones come with the next walk). The walk is in the cursor, so a
restart continues it. A source's first poll reads only its newest page. Ids are opaque strings (Mastodon's
snowflakes, GoToSocial's ULIDs, Akkoma's flake ids), ordered as servers order them. Mastodon makes a status's
snowflake from its own time, and a status it learns of late (a remote post delivered late, one fetched for a
thread or a boost) gets an id below ids already read: so a search or hashtag walk reads above the snowflake of
``overlap_seconds`` before its newest status (a hashtag walk page after page, each just after the one before),
and the ids read in that window are kept in the cursor, so none is returned twice. Ids that are no snowflakes
are read above as they are.
One odd item does not stop its source: a status without an account or a readable date is read without
them (see `MastodonConnector._mention`), and a notification without its status is skipped with a warning.
A status's content warning is read with it: its text is "CW: <warning>", a blank line, then the post.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import Any, ClassVar
from urllib.parse import urlsplit

import regex
from mastodon import (
    Mastodon,
    MastodonAPIError,
    MastodonNetworkError,
    MastodonNotFoundError,
    MastodonRatelimitError,
    MastodonServerError,
    MastodonUnauthorizedError,
)
from pydantic import Field

from connectors import keywords
from connectors._http import (
    DEFAULT_RETRY_AFTER_SECONDS,
    HttpSettings,
    html_to_text,
    read_bodies_bounded,
    reply_connect_deadline,
    retrying_session,
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
)
from connectors.graphemes import grapheme_count
from connectors.x_text import x_url_spans

log = logging.getLogger("mentiondesk.connectors.mastodon")

MAX_STATUS_CHARS = 500  # Mastodon's default; instances may allow more
# Mastodon keeps a reply's Idempotency-Key for 1 hour ("Idempotency keys are stored for up to 1 hour", POST
# /api/v1/statuses); 5 minutes less leaves a re-send time to arrive (a request gives up within 120 s).
IDEMPOTENCY_WINDOW = timedelta(minutes=55)
_VISIBILITY_ORDER = ("public", "unlisted", "private", "direct")
# A visibility as a privacy (Connector.privacy): an unlisted post is left out of timelines, yet anyone can read it;
# a followers-only ("private") one only the author's followers and those it mentions; a direct message only those
# it mentions.
_PRIVACY_OF_VISIBILITY = {"public": 0, "unlisted": 0, "private": 1, "direct": 2}
# Mastodon's ids are snowflakes since 2.0 (October 2017); a smaller number is a counted id (older Mastodon,
# Friendica) that holds no time.
FIRST_SNOWFLAKE_MS = int(datetime(2017, 9, 1, tzinfo=timezone.utc).timestamp() * 1000)
# The most ids a source keeps from its look-back window: past it the oldest may be returned twice (stored once).
MAX_SEEN_IDS = 1000


class MastodonSettings(HttpSettings):
    api_base_url: WebUrl  # the brand account's instance, e.g. "https://mastodon.social"
    search: bool = True  # status search for each keyword (needs full-text search on the instance)
    # Hashtags to follow (without #); default: each one-word keyword.
    hashtags: list[str] | None = None
    notifications: bool = True  # the account's mention notifications (needs the brand's handle)
    page_size: int = Field(default=40, ge=1, le=40)
    # How far below the newest status read each search and hashtag walk looks again, for statuses given ids late.
    overlap_seconds: int = Field(default=300, ge=0, le=int(MAX_SETTING_SECONDS))
    max_reply_chars: int = Field(default=MAX_STATUS_CHARS, ge=1)
    # The most an answer may hold, unpacked: past it, or still arriving after request_timeout_seconds, the
    # answer is refused instead of holding the poll (40 statuses with their accounts are well under 1 MB).
    max_answer_bytes: int = Field(default=20 * 1024 * 1024, gt=0)


@dataclass
class _Cursor:
    pending: list[str] = field(default_factory=list)  # sources left in this round
    newest: dict[str, str] = field(default_factory=dict)  # source -> newest id read
    # search or tag source, mid-walk -> {"max_id": the oldest id read so far (search), "offset": the statuses
    # under it on pages that came back empty (search), "min_id": the newest id of the page read last (tag),
    # "top": the newest id read}
    walks: dict[str, dict[str, Any]] = field(default_factory=dict)
    # search or tag source -> the ids read above its look-back: its walks read them again and skip them
    seen: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def load(cls, text: str | None) -> "_Cursor":
        if not text:
            return cls()
        try:
            data = json.loads(text)
            # A walk stored by offset alone (before max_id) starts again from the top: read twice, stored once.
            # A tag walk stored without its min_id starts again from the look-back: read twice, returned once.
            walks = {k: {"max_id": w.get("max_id"), "offset": int(w.get("offset") or 0) if "max_id" in w else 0,
                         "min_id": w.get("min_id"), "top": w.get("top")}
                     for k, w in data.get("walks", {}).items()}
            # A cursor from before the look-back has no seen ids: its window is read once more (and stored once).
            seen = {k: [str(i) for i in ids] for k, ids in data.get("seen", {}).items()}
            return cls(pending=list(data.get("pending", [])), newest=dict(data.get("newest", {})), walks=walks,
                       seen=seen)
        except (ValueError, TypeError, AttributeError, KeyError):
            raise ConnectorError("stored Mastodon cursor is unreadable; reset this query's cursor to start over") from None

    def dump(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))


_PROTOCOL = re.compile(r"https?://", re.IGNORECASE)
# Mastodon's Account::MENTION_RE with a domain: usernames may hold "." and "-" inside, and its [[:word:]]
# (here `regex`'s \w: letters, marks, digits, "_") lets an IDN domain be written in its own script.
_REMOTE_MENTION = regex.compile(r"(?<![=/\w])(@[a-z0-9_]+(?:[.-]+[a-z0-9_]+)*)@\w+(?:[.-]+\w+)*", regex.IGNORECASE)
_RUBY_STRIP = " \t\n\v\f\r\0"  # Ruby's String#strip, which Mastodon runs on a status before checking it


def status_length(text: str) -> int:
    """Mastodon's count: graphemes of the stripped text, every link as 23, a remote @user@domain as its @user
    part. Its links are twitter-text's with a protocol (so a link ends before CJK text or trailing punctuation:
    "\\S+" counted a Chinese sentence after a link as part of it)."""
    text = text.strip(_RUBY_STRIP)
    links = [(start, end) for start, end in x_url_spans(text) if _PROTOCOL.match(text, start)]
    for start, end in reversed(links):
        text = text[:start] + "x" * 23 + text[end:]
    return grapheme_count(_REMOTE_MENTION.sub(r"\1", text))


def _id_order(status_id: str) -> tuple[int, str]:
    """Servers compare ids as Mastodon does: a longer id is newer, then by text (numbers and ULIDs alike)."""
    return len(status_id), status_id


def _term(word: str) -> str:
    word = word.replace('"', "")
    return f'"{word}"' if any(c.isspace() for c in word) else word


def _look_back(newest: str | None, seconds: int) -> str | None:
    """The id a walk reads above: Mastodon's snowflake of ``seconds`` before the newest status read (its
    milliseconds shifted 16 bits). Other ids (ULIDs, flake ids, counted ones) are read above as they are."""
    if newest is None or not re.fullmatch(r"[0-9]{1,20}", newest) or int(newest) >> 16 < FIRST_SNOWFLAKE_MS:
        return newest  # a snowflake is a 64-bit number
    return str(((int(newest) >> 16) - seconds * 1000) << 16)


def _above(status_id: str, floor: str | None) -> bool:
    return floor is None or _id_order(status_id) > _id_order(floor)


class MastodonConnector(Connector):
    name = "mastodon"
    Settings = MastodonSettings
    capabilities = Capabilities(can_reply=True, max_reply_chars=MAX_STATUS_CHARS, idempotent_replies=True,
                                idempotency_window=IDEMPOTENCY_WINDOW, reply_length=status_length,
                                length_unit="characters (URLs count 23)")
    required_secrets: ClassVar[tuple[str, ...]] = ("access_token",)
    reply_raw_keys: ClassVar[tuple[str, ...]] = ("acct", "visibility")
    settings: MastodonSettings

    @classmethod
    def privacy(cls, raw: dict[str, Any]) -> int | None:
        visibility = raw.get("visibility")
        return _PRIVACY_OF_VISIBILITY.get(visibility) if isinstance(visibility, str) else None

    def __init__(self, settings: ConnectorSettings, secrets: dict[str, str] | None = None) -> None:
        super().__init__(settings, secrets)
        self.capabilities = replace(type(self).capabilities, max_reply_chars=self.settings.max_reply_chars)
        self.api = Mastodon(
            access_token=self.secrets.get("access_token"),
            api_base_url=self.settings.api_base_url,
            ratelimit_method="throw",  # never sleep in the poller's thread; we raise RateLimited
            request_timeout=self.settings.request_timeout_seconds,
            session=read_bodies_bounded(retrying_session(self.settings, "mentiondesk/0.1 (brand mention monitor)"),
                                        "Mastodon", seconds=self.settings.request_timeout_seconds,
                                        max_bytes=self.settings.max_answer_bytes),
            # A stated version skips the instance lookup; "created" lets the calls used (3.5+) through.
            version_check_mode="created",
            mastodon_version="4.3.0",
        )

    # -- fetching --------------------------------------------------------------------------------

    def _sources(self, query: Query) -> list[str]:
        sources = []
        if self.settings.search:
            sources += [f"search:{k}" for k in ((query.raw,) if query.raw else query.keywords)]
        tags = self.settings.hashtags
        if tags is None:
            tags = [k for k in query.keywords if re.fullmatch(r"\w+", k)]
        sources += [f"tag:{t.lstrip('#')}" for t in tags]
        if self.settings.notifications and query.handle:
            sources.append("notifications")
        if not sources:
            raise ConnectorError(f"query {query.key!r} has nothing to read on Mastodon: give keywords, hashtags or a handle")
        return sources

    def fetch(self, query: Query, cursor: str | None) -> FetchResult:
        state = _Cursor.load(cursor)
        sources = self._sources(query)
        state.newest = {k: v for k, v in state.newest.items() if k in sources}  # sources no longer configured
        state.walks = {k: v for k, v in state.walks.items() if k in sources}
        state.seen = {k: v for k, v in state.seen.items() if k in sources}
        return fetch_in_rounds(state, sources, lambda pending: self._fetch_source(query, state, pending))

    def _fetch_source(self, query: Query, state: _Cursor, pending: list[str]) -> FetchResult:
        """The next page of the round's first pending source."""
        source = pending[0]
        kind = source.partition(":")[0]
        newest, walk = state.newest.get(source), state.walks.get(source)
        overlap = self.settings.overlap_seconds
        if kind == "notifications":
            min_id, max_id = newest, None
        elif kind == "tag":
            # A timeline walk's next page starts just after the page read last, not after the newest id read
            # (top): that skipped the rest of a look-back window longer than a page.
            min_id, max_id = (walk and walk["min_id"]) or _look_back(newest, overlap), None
        else:
            min_id, max_id = _look_back(newest, overlap), walk["max_id"] if walk else None
        offset = walk["offset"] if walk else 0
        page = self._read(source, query, min_id, max_id, offset)
        seen = set(state.seen.get(source, ()))
        mentions = [self._mention(s, source) for i, s in page if s is not None and i not in seen]
        if kind != "notifications":
            mentions = [m for m in mentions if self._wanted(m, query)]
        ids = [i for i, _ in page if i]
        # The statuses read before in a search page's range: a search walk ends once it has reached them.
        read_before = {i for i in seen if _above(i, min_id) and (max_id is None or _above(max_id, i))}
        forgotten: set[str] = set()
        # A full page above the old id may have more behind it; the first poll reads one page. A page with no
        # id to place it by cannot lead on: read again, it would come the same. A search page not below its
        # max_id ends its walk: a server that ignores max_id (Akkoma's search) would send it again and again.
        if newest is None:
            more_here = False
        elif kind == "search" and not ids:
            # Search drops muted, blocked and limited accounts' statuses from a page after paging, so a page of
            # them comes back empty with more matches below: while statuses read before lie under it, the walk
            # reads the next page under the same max_id, up to max_pages_per_poll empty pages in a row (a server
            # that ignores offset sends the same page). Past that it ends, and forgets the statuses it did not
            # reach (muted or deleted since), so that the next polls do not look for them again.
            empty_pages = offset // self.settings.page_size + 1
            more_here = bool(read_before) and empty_pages < self.settings.max_pages_per_poll
            if read_before and not more_here:
                log.warning("Mastodon %s: %d search pages in a row came back empty (statuses of muted, blocked or "
                            "limited accounts, or deleted ones); matches below them are not read", source, empty_pages)
                forgotten = read_before
        elif not ids:
            more_here = False
        elif kind == "search":
            below = max_id is None or _id_order(min(ids, key=_id_order)) < _id_order(max_id)
            # Filtering after paging can shorten a page too, so a short page alone is no end. One holding every
            # status read before in its range (at least one) reached below them all, and a new status has an id
            # above them: under it lies only a status given an older id late below all those read, which a page
            # shortened or emptied by filtering can hide. So a poll finds nothing new, or a few new statuses, in
            # one request while the look-back window fits a page.
            ends = len(page) < self.settings.page_size and bool(read_before) and read_before <= set(ids)
            more_here = below and not ends
        else:
            more_here = len(page) >= self.settings.page_size
        if kind == "notifications":
            if ids:
                state.newest[source] = max(filter(None, [*ids, newest]), key=_id_order)
        else:
            top = max(filter(None, [*ids, walk["top"] if walk else newest]), key=_id_order, default=None)
            window = _look_back(top, overlap)
            remembered = seen | {i for i in ids if _above(i, window)}
            if more_here:
                if kind == "search":  # below the page read, or the page after an empty one
                    max_id, offset = (min(ids, key=_id_order), 0) if ids else (max_id, offset + self.settings.page_size)
                state.walks[source] = {"max_id": max_id if kind == "search" else None, "offset": offset,
                                       "min_id": max(ids, key=_id_order) if kind == "tag" else None, "top": top}
            else:
                state.walks.pop(source, None)
                if top:
                    state.newest[source] = top
                remembered = {i for i in remembered - forgotten if _above(i, window)}  # what the next walk reads again
            if remembered:
                state.seen[source] = sorted(remembered, key=_id_order)[-MAX_SEEN_IDS:]
            else:
                state.seen.pop(source, None)
        state.pending = pending if more_here else pending[1:]
        return FetchResult(mentions, next_cursor=state.dump(), has_more=bool(state.pending))

    def _read(self, source: str, query: Query, min_id: str | None, max_id: str | None,
              offset: int) -> list[tuple[str | None, dict[str, Any] | None]]:
        """The page's items, each as the id that places it in its source (a notification's own id; None where
        it has none) and the status it carries (None where there is none: nothing to read, so it is skipped)."""
        kind, _, value = source.partition(":")
        limit = self.settings.page_size
        if kind == "search":
            # A raw query is the brand's own search text, sent as written, as X's and Hacker News' are (its quotes,
            # operators and exclusions are its own); excluded terms and the brand's posts still go after reading.
            if query.raw:
                text = value
            else:
                text = " ".join([_term(value), *(f"-{_term(e)}" for e in query.exclude)])
                if query.handle:
                    text += f" -from:{query.handle}"
            result = self._call(source, lambda: self.api.search_v2(text, resolve=False, result_type="statuses",
                                                                    min_id=min_id, max_id=max_id,
                                                                    offset=offset or None, limit=limit))
            items = result.get("statuses") if isinstance(result, dict) else None
        elif kind == "tag":
            items = self._call(source, lambda: self.api.timeline_hashtag(value, min_id=min_id, limit=limit))
        else:
            items = self._call(source, lambda: self.api.notifications(types=["mention"], min_id=min_id, limit=limit))
        # An item that is no object is a broken answer, not an odd item: Mastodon.py reads an object where a
        # list belongs as the list of its keys.
        if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
            raise BadPayload(f"Mastodon answered {kind} with something that is not a list of objects")
        page = []
        for item in items:
            # The cursor follows notification ids; the status carries the mention.
            item_id = _text(item.get("id"))
            status = item.get("status") if kind == "notifications" else item
            if not isinstance(status, dict):  # named by id only: never its text
                log.warning("Mastodon notification %r has no status to read; skipped", (item_id or "")[:40])
                status = None
            page.append((item_id, status))
        return page

    def _wait_after_429(self) -> float:
        """Seconds until the window of the limit that answered 429 resets (its X-RateLimit-Reset): posting has
        its own, 300 statuses per 3 hours by default, so a guessed minute sent a bulk reply back every minute."""
        reset = self.api.ratelimit_reset
        return reset - time.time() if reset and reset > time.time() else DEFAULT_RETRY_AFTER_SECONDS

    def _call(self, what: str, request: Callable[[], Any]) -> Any:
        """Run one Mastodon.py call; rate limits become RateLimited, other trouble ConnectorError."""
        remaining, reset = self.api.ratelimit_remaining, self.api.ratelimit_reset
        if remaining is not None and remaining <= 0 and reset and reset > time.time():
            raise RateLimited("Mastodon request quota used up until its window resets", reset - time.time())
        try:
            return request()
        except MastodonRatelimitError:
            raise RateLimited("Mastodon answered 429 Too Many Requests", self._wait_after_429()) from None
        except MastodonUnauthorizedError:
            raise ConnectorError("Mastodon rejected the access token (401); check MENTIONDESK_MASTODON_ACCESS_TOKEN") from None
        except MastodonNetworkError as exc:
            if isinstance(exc.__context__, ConnectorError):  # an answer too slow or too large (read_bodies_bounded)
                raise exc.__context__ from None
            raise ConnectorError(f"cannot reach Mastodon while reading {what} ({str(exc).split(':')[0]})") from None
        except MastodonServerError as exc:
            raise ConnectorError(f"Mastodon server error {_status(exc)} while reading {what}, after retries") from None
        except MastodonAPIError as exc:
            if "Could not parse response as JSON" in str(exc):
                raise BadPayload(f"Mastodon answered {what} with malformed JSON") from None
            raise ConnectorError(f"Mastodon refused {what} ({_status(exc)}): {_message(exc)}") from None

    def _wanted(self, mention: Mention, query: Query) -> bool:
        """Hashtag timelines and search may carry excluded terms (found as feeds and Reddit find them) and the
        brand's own posts."""
        own = query.handle is not None and _is_account(mention.author_handle, query.handle)
        return not own and keywords.first_found(mention.text, query.exclude) is None

    def _mention(self, status: dict[str, Any], source: str) -> Mention:
        """The status as far as it can be read. Without an account it is read as by an unknown author (and not
        replyable: a reply could not @mention them, and Mastodon notifies only the accounts a post mentions);
        without a readable date it is dated when fetched. Refusing the page for either stopped the source on
        every poll, and the statuses after it were never read."""
        # Without an id it cannot be stored: ingest sets it aside in the audit log, whole.
        status_id = _text(status.get("id")) or ""
        account = status.get("account") if isinstance(status.get("account"), dict) else {}
        acct = _text(account.get("acct"))
        created_at = status.get("created_at")  # Mastodon.py parses it into a datetime, None where it cannot
        missing = [name for name, value in (("id", status_id), ("account", acct)) if not value]
        if not isinstance(created_at, datetime):
            missing.append("a readable created_at")
        if missing:  # named by id only: never its text
            log.warning("Mastodon status %r lacks %s; read without it", status_id[:40], ", ".join(missing))
        # Not "public" where it is missing or unknown (Akkoma's "local"): a reply is never more public than what it
        # answers, so without it replies are refused (`reply`), where a direct message was answered publicly.
        visibility = status.get("visibility") if status.get("visibility") in _VISIBILITY_ORDER else None
        # A content warning (plain text, not HTML) says what the post is about, often more than its body: it is read
        # with it, and kept apart in raw.
        spoiler = (_text(status.get("spoiler_text")) or "").strip()
        content = html_to_text(str(status.get("content") or ""))
        raw = {"source": source.partition(":")[0], "status_id": status_id, "acct": acct, "visibility": visibility,
               "url": status.get("url"), "spoiler_text": spoiler or None}
        if not isinstance(created_at, datetime):  # dated when fetched, as ingest does with an unbelievable date
            created_at, raw["created_at_as_sent"] = datetime.now(timezone.utc), created_at
        elif created_at.tzinfo is None:
            created_at = created_at.replace(tzinfo=timezone.utc)  # Mastodon gives its times in UTC
        # Mastodon.py casts the count to int (None where it cannot); a hidden count can still come as -1.
        followers = account.get("followers_count")
        return Mention(
            platform=self.name,
            external_id=status_id,
            text=f"CW: {spoiler}\n\n{content}".strip() if spoiler else content,
            created_at=created_at,
            url=status.get("url") or status.get("uri"),
            author_handle=acct,
            author_name=_text(account.get("display_name")),
            author_followers=followers if type(followers) is int and followers >= 0 else None,
            lang=status.get("language") or None,
            thread_id=None if status.get("in_reply_to_id") else status_id or None,  # Mastodon gives no root id
            parent_id=str(status["in_reply_to_id"]) if status.get("in_reply_to_id") else None,
            replyable=acct is not None,
            raw=raw,
        )

    # -- replying --------------------------------------------------------------------------------

    def reply_prefix(self, target: ReplyTarget, text: str) -> str:
        # Mastodon notifies only accounts the reply @mentions (and a direct reply reaches only them); clients
        # prefill the author's handle. Their mention is a whole @acct (a local one may carry this instance's
        # domain): "@ana" inside "@anabel" is another account, and the reply to ana's DM went to anabel alone.
        acct = str(target.raw.get("acct") or "")
        if not acct:
            return ""
        here = urlsplit(str(self.settings.api_base_url)).hostname or ""
        domain = f"(?:@{re.escape(here)})?" if "@" not in acct else ""
        # Nor is "@ana" in a link to her profile or post (after "/" or "="), as Mastodon reads mentions.
        mentioned = re.search(rf"(?<![\w@/=])@{re.escape(acct)}{domain}(?![\w@]|[.-]\w)", text, re.IGNORECASE)
        return "" if mentioned else f"@{acct} "

    def why_not_replyable(self, target: ReplyTarget) -> str | None:
        # Without its author's account a reply @mentions nobody: no one is notified, and a reply to a direct
        # message would be a direct post that only the brand can see. (An imported status is stored not
        # replyable whatever it holds: its account, where the record has one, settles it.)
        if not (target.raw or {}).get("acct"):
            return ("this Mastodon status was stored without its author's account, so a reply could not @mention "
                    "them and would reach no one; answer it on Mastodon itself")
        return None

    def reply(self, target: ReplyTarget, text: str, idempotency_key: str) -> PostedReply:
        if (why_not := self.why_not_replyable(target)) is not None:
            raise ReplyNotAllowed(why_not)
        # A reply is never more public than what it answers (a direct message stays direct), so without
        # the post's visibility nothing is sent: "public" by default made replies to DMs public.
        visibility = target.raw.get("visibility")
        if visibility not in _VISIBILITY_ORDER:
            raise ReplyNotAllowed("the stored mention does not record who can see the post (public, private or "
                                  "direct), so a reply might be more public than it; reply on Mastodon itself")
        text = self.reply_prefix(target, text) + text
        if (length := status_length(text)) > self.settings.max_reply_chars:
            raise ConnectorError(f"the reply is {length} characters with the @mention; "
                                 f"this instance allows {self.settings.max_reply_chars}")
        try:
            # The key dedupes a late post for an hour only, and urllib3 retries a connection never made
            # max_retries times (no limit): past the deadline to connect, no try starts.
            with reply_connect_deadline():
                status = self.api.status_post(text, in_reply_to_id=target.external_id, visibility=visibility,
                                              idempotency_key=idempotency_key)
        except MastodonRatelimitError:
            raise RateLimited("Mastodon answered 429 Too Many Requests to the reply", self._wait_after_429()) from None
        except MastodonNotFoundError:
            raise ReplyNotAllowed("Mastodon says the post no longer exists or is not visible to the brand account") from None
        except MastodonNetworkError:
            raise DeliveryUnknown("the reply request to Mastodon got no answer; check the thread before retrying") from None
        except MastodonAPIError as exc:
            code = _status(exc)
            if code == 422:
                raise ReplyNotAllowed(f"Mastodon refused the reply: {_message(exc)}") from None
            # Both can come after Mastodon stored the status (a gateway timing out, a body cut off), and a
            # retry relies on a key Mastodon forgets after an hour: a person checks the thread instead.
            if "Could not parse response as JSON" in str(exc):
                raise DeliveryUnknown("Mastodon answered the reply with a body that cannot be read; it may have "
                                      "been posted: check the thread before retrying") from None
            if isinstance(code, int) and code >= 500:
                raise DeliveryUnknown(f"Mastodon answered the reply with a server error ({code}); it may have "
                                      "been posted: check the thread before retrying") from None
            raise ConnectorError(f"Mastodon did not accept the reply ({code}): {_message(exc)}") from None
        if not isinstance(status, dict) or "id" not in status:
            raise BadPayload("Mastodon accepted the reply but its answer has no id")
        return PostedReply(external_id=str(status["id"]), url=status.get("url"))

    def close(self) -> None:
        self.api.session.close()


def _text(value: Any) -> str | None:
    """Text that is not empty (Mastodon.py reads ids as text), or None in place of anything else."""
    return str(value) if isinstance(value, str) and value else None


def _is_account(acct: str | None, handle: str) -> bool:
    """Whether a status's ``acct`` is the brand's handle, an account of this instance (its token's). The handle is
    usually written in full ("@orbisto@mastodon.example") and Mastodon gives a local account's acct bare
    ("orbisto"), whatever domain the instance's handles show (it may serve example.com's accounts from
    social.example.com): compared as written, the brand's own posts were queued as customer mentions."""
    if not acct:
        return False
    acct, handle = (name.strip().lstrip("@").lower() for name in (acct, handle))
    return acct in (handle, handle.partition("@")[0])


def _status(exc: MastodonAPIError) -> Any:
    return exc.args[1] if len(exc.args) > 1 else "?"


def _message(exc: MastodonAPIError) -> str:
    """The instance's ``error`` text (never credentials)."""
    return str(exc.args[3] if len(exc.args) > 3 and exc.args[3] else "no details")[:300]
