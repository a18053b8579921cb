"""The triage queue: filters, saved views and keyset pages that stay fast at a million mentions.

Pages are keyset pages (``WHERE (priority, created_at, id) < cursor``), never OFFSET, so page 500
costs what page 1 costs. The "urgent" order is priority (highest first), then newest; mentions the
model has not scored yet (NULL priority) follow the scored ones. That order is walked as two index
ranges, scored then unscored, so both SQLite and PostgreSQL read it straight from an index.

Free text is a case-insensitive substring of the text, the author's name or their handle (``%`` and ``_``
are literal; ``@name``, as a card shows a handle, finds the handle ``name``), served by an index: pg_trgm GIN
indexes on PostgreSQL, an FTS5 trigram table on SQLite (migrations 0004 and 0019). A language filter takes
in the language's regional variants ("pt" finds "pt-br"), and the saved views leave the competitor brands'
posts out.

Filters, page sizes and cursors come from the dashboard: what no query can take (a NUL in the search
text, a naive date, an id past 64 bits, a page of -5) is refused with a :class:`QueueError`.
"""

from __future__ import annotations

import base64
import enum
import json
import math
import numbers
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timezone

from sqlalchemy import ColumnElement, Select, and_, column, false, func, literal_column, or_, select, table, text, tuple_
from sqlalchemy.orm import Session

from monitor.errors import MentiondeskError
from monitor.ingest import BIGINT_MAX, check_storable, in_utc
from monitor.models import Brand, Mention, MentionStatus, MentionTag
from monitor.search_text import MIN_PHRASE_LENGTH, fts_phrases, search_fold

ACTIVE_STATUSES: tuple[str, ...] = (MentionStatus.NEW.value, MentionStatus.OPEN.value, MentionStatus.PENDING.value)
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1_000  # the dashboard's page_size is at most 200
# A search needle longer than any sensible search would only make the trigram lookup slow.
MAX_TEXT_LENGTH = 1_000
# A cursor this queue makes is ~150 characters; a longer one is refused before it is decoded (a forged one
# nested thousands deep made json raise RecursionError).
MAX_CURSOR_LENGTH = 300
# Row ids are signed 64-bit on both databases; a larger Python int made the SQLite driver raise OverflowError.
_MIN_ID, _MAX_ID = -(2**63), BIGINT_MAX
# Counting every match of a broad filter over a million rows is slow and not useful: "10,000+" is.
COUNT_CAP = 10_000
# SQLite's FTS5 trigram index (migration 0004) only finds substrings of at least 3 characters.
MIN_INDEXED_TEXT = MIN_PHRASE_LENGTH
# SQLite: up to this many matches, the page is built from the FTS matches (fetch each, then sort);
# a commoner term is found sooner by walking the queue order and testing each row.
FTS_DRIVE_LIMIT = 20_000
# Shorter needles than the trigram indexes take (SQLite's and pg_trgm's alike) would scan every row,
# seconds at a million; they search the newest this many mentions (the queue page says so).
SHORT_TEXT_WINDOW = 20_000
_FTS = table("mentions_fts", column("rowid"))


class QueueError(MentiondeskError):
    """A filter or page request the queue cannot serve (the message names the bad value)."""


class BadCursor(QueueError):
    """A page cursor that this queue did not produce (or for another sort order)."""


class Sort(str, enum.Enum):
    URGENT = "urgent"  # priority, then newest
    NEWEST = "newest"


@dataclass(frozen=True)
class SlaCutoff:
    """Unanswered mentions with priority in [min_priority, max_priority) created at or before
    ``created_before`` are due soon or overdue (``max_priority`` None: no upper bound; a tier with
    ``min_priority`` None also holds the unscored mentions)."""

    min_priority: float | None
    max_priority: float | None
    created_before: datetime


@dataclass(frozen=True)
class QueueFilters:
    """What the queue shows; empty tuples mean "any". Several values of one filter are OR-ed."""

    statuses: tuple[str, ...] = ACTIVE_STATUSES
    brand_ids: tuple[int, ...] = ()
    # Brands tracked only for comparison: their posts are not the team's work, so they are left out
    # unless ``brand_ids`` picks them.
    competitor_brand_ids: tuple[int, ...] = ()
    platforms: tuple[str, ...] = ()
    sentiments: tuple[str, ...] = ()  # the human label where someone relabelled, else the model's
    intents: tuple[str, ...] = ()
    assignee: str | None = None
    unassigned: bool = False
    langs: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None
    text: str = ""
    # Set by the "breaching SLA" view: only unanswered mentions past these per-tier cutoffs.
    sla_cutoffs: tuple[SlaCutoff, ...] = ()


@dataclass(frozen=True)
class SavedView:
    key: str
    title: str
    filters: QueueFilters
    sort: Sort = Sort.URGENT


@dataclass
class QueuePage:
    items: list[Mention]
    next_cursor: str | None


@dataclass(frozen=True)
class _Position:
    priority: float | None
    created_at: datetime
    id: int

    def encode(self, sort: Sort) -> str:
        payload = {"s": sort.value, "p": self.priority, "c": self.created_at.isoformat(), "i": self.id}
        return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode()

    @classmethod
    def decode(cls, cursor: str, sort: Sort) -> "_Position":
        try:
            if len(cursor) > MAX_CURSOR_LENGTH:
                raise ValueError("longer than any cursor")
            payload = json.loads(base64.urlsafe_b64decode(cursor.encode()))
            if payload["s"] != sort.value:
                raise ValueError("sort order changed")
            priority = None if payload["p"] is None else float(payload["p"])
            if priority is not None and not math.isfinite(priority):
                raise ValueError("priority is not a number")
            created_at = datetime.fromisoformat(payload["c"])
            if created_at.utcoffset() is None:
                raise ValueError("naive time")
            position_id = int(payload["i"])
            if not _MIN_ID <= position_id <= _MAX_ID:
                raise ValueError("id out of range")
            # As stored: a time that leaves years 1..9999 once in UTC raises OverflowError here, not in the query.
            return cls(priority, created_at.astimezone(timezone.utc), position_id)
        except (ValueError, KeyError, TypeError, OverflowError, RecursionError) as exc:
            raise BadCursor(f"not a queue cursor for the {sort.value} order ({exc.__class__.__name__})") from None


def competitor_brand_ids(session: Session) -> tuple[int, ...]:
    """The ids of the brands marked ``competitor`` (as the config last synced them), for :class:`QueueFilters`."""
    return tuple(session.scalars(select(Brand.id).where(Brand.competitor.is_(True)).order_by(Brand.id)))


def saved_views(user: str, sla_cutoffs: tuple[SlaCutoff, ...],
                competitor_brand_ids: tuple[int, ...] = ()) -> list[SavedView]:
    """The built-in views, without the competitors' posts; ``sla_cutoffs`` come from
    :func:`monitor.sla.breaching_cutoffs`, ``competitor_brand_ids`` from :func:`competitor_brand_ids`."""
    ours = QueueFilters(competitor_brand_ids=competitor_brand_ids)
    return [
        SavedView("all-open", "All open", ours),
        SavedView("my-open-complaints", "My open complaints", replace(ours, assignee=user, intents=("complaint",))),
        SavedView("unassigned", "Unassigned", replace(ours, unassigned=True)),
        SavedView("breaching-sla", "Breaching SLA", replace(ours, sla_cutoffs=sla_cutoffs)),
    ]


def effective_sentiment() -> ColumnElement[str]:
    """The sentiment a person gave the mention, else the model's."""
    return func.coalesce(Mention.human_sentiment_label, Mention.sentiment_label)


def effective_intent() -> ColumnElement[str]:
    return func.coalesce(Mention.human_intent, Mention.intent)


_SIGMAS = frozenset("Σσς")


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _ilike(searched: ColumnElement[str | None], pattern: str) -> ColumnElement[bool]:
    """``column ILIKE pattern`` on PostgreSQL, also where a word ends in a final sigma: its lower() makes Σ σ,
    never ς, so "ΑΜΈΣΩΣ" did not match "αμέσως". Where the pattern has a sigma, the indexed ILIKE takes any
    letter there, and the rows it finds are compared with every sigma folded to σ."""
    if not _SIGMAS.intersection(pattern):
        return searched.ilike(pattern, escape="\\")
    loose = "".join("_" if ch in _SIGMAS else ch for ch in pattern)
    folded = func.translate(func.lower(searched), "ς", "σ").like(func.translate(func.lower(pattern), "ς", "σ"),
                                                                escape="\\")
    return and_(searched.ilike(loose, escape="\\"), folded)


# What free text searches: each column, with the needle it looks for there.
_Searched = list[tuple[ColumnElement[str | None], str]]


def _handle_needle(needle: str) -> str:
    """What a handle is searched for: ``needle`` without one leading "@", as a card shows a handle as "@name".
    The "@" stays where what follows it is too short for the indexes but the needle is not: "@ab" is looked up in
    them (and finds "@ab" in the text), where the handle "ab" would be looked for in every row."""
    rest = needle[1:]
    if needle.startswith("@") and rest and (len(rest) >= MIN_INDEXED_TEXT or len(needle) < MIN_INDEXED_TEXT):
        return rest
    return needle


def _searched(needle: str) -> _Searched:
    return [(Mention.text, needle), (Mention.author_name, needle), (Mention.author_handle, _handle_needle(needle))]


def _folded_contains(searched: _Searched) -> ColumnElement[bool]:
    # SQLite's LIKE folds ASCII only, so both sides go through the search_fold() each connection registers
    # (monitor.storage).
    return or_(*(func.instr(func.search_fold(column), search_fold(needle)) > 0 for column, needle in searched))


def _fts_match(needle: str) -> tuple[str, bool]:
    """The FTS5 MATCH expression for what :func:`_searched` looks for (quoted phrases: with the trigram tokenizer,
    a case-insensitive substring of a column), and whether it is exact (else the rows it finds must be compared
    again)."""
    handle_needle = _handle_needle(needle)
    phrases, exact = fts_phrases(needle)
    if handle_needle == needle:
        return phrases, exact  # in any column
    handle_phrases, handle_exact = fts_phrases(handle_needle)
    return f"{{text author_name}} : ({phrases}) OR author_handle : ({handle_phrases})", exact and handle_exact


def _text_condition(session: Session, needle: str, sqlite: bool) -> ColumnElement[bool]:
    searched = _searched(needle)
    if sqlite and len(needle) >= MIN_INDEXED_TEXT:
        phrases, exact = _fts_match(needle)
        matches = select(_FTS.c.rowid).where(text("mentions_fts MATCH :phrases").bindparams(phrases=phrases))
        found = session.scalar(select(func.count()).select_from(matches.limit(FTS_DRIVE_LIMIT + 1).subquery()))
        if (found or 0) <= FTS_DRIVE_LIMIT:
            return Mention.id.in_(matches) if exact else and_(Mention.id.in_(matches), _folded_contains(searched))
    if sqlite:
        # A scan: the term is so common that the queue order meets matches at once.
        matches = _folded_contains(searched)
    else:
        # PostgreSQL's trigram indexes serve this.
        matches = or_(*(_ilike(column, f"%{_escape_like(sought)}%") for column, sought in searched))
    if len(needle) < MIN_INDEXED_TEXT:
        # Found among the newest mentions first (ids from the window's oldest up), then those rows are sorted.
        # Counted in rows, not ids: PostgreSQL's sequence skips an id for every re-fetched post that
        # INSERT ... ON CONFLICT DO NOTHING leaves out, and deleted mentions leave gaps on either database.
        oldest_searched = (select(Mention.id).order_by(Mention.id.desc())
                           .offset(SHORT_TEXT_WINDOW - 1).limit(1).scalar_subquery())
        window = Mention.id >= func.coalesce(oldest_searched, _MIN_ID)  # fewer mentions: all of them
        return Mention.id.in_(select(Mention.id).where(window, matches))
    return matches


def _stored_langs(session: Session) -> list[str]:
    """Every language tag stored, one index seek each (a loose scan of ix_mentions_lang_rank); read once
    per session, as a page and its count (and analytics' many figures) filter alike."""
    if "stored_langs" not in session.info:
        found = select(func.min(Mention.lang).label("lang")).cte("stored_langs", recursive=True)
        following = select(func.min(Mention.lang)).where(Mention.lang > found.c.lang).scalar_subquery()
        found = found.union_all(select(following).where(found.c.lang.is_not(None)))
        session.info["stored_langs"] = list(session.scalars(select(found.c.lang).where(found.c.lang.is_not(None))))
    return session.info["stored_langs"]


def _with_regional_variants(session: Session, codes: Sequence[str]) -> tuple[str, ...]:
    """``codes`` and the stored tags that are their regional variants ("pt" takes in "pt-br"). Listed
    rather than matched with LIKE: a language with no variant stored stays one value, read in queue
    order from the language index (an OR, or a second value, has both databases walk the queue order
    instead: ~60 ms rather than ~1 ms for a rare language at 200,000 mentions)."""
    variant_prefixes = tuple(code + "-" for code in codes)
    variants = [tag for tag in _stored_langs(session) if tag.startswith(variant_prefixes)]
    return tuple(dict.fromkeys([*codes, *variants]))


def _sla_condition(cutoffs: Sequence[SlaCutoff], sqlite: bool) -> ColumnElement[bool]:
    unanswered = Mention.first_response_at.is_(None)
    if sqlite:
        # A unary + keeps SQLite from driving the view from the backlog index (every unanswered mention,
        # then a sort: ~250 ms at a million); walking the queue order finds a page of breaching ones at once.
        unanswered = literal_column(f"+{Mention.__tablename__}.first_response_at").is_(None)
    tiers = []
    for cut in cutoffs:
        in_tier = [Mention.created_at <= cut.created_before]
        if cut.min_priority is not None:
            in_tier.append(Mention.priority >= cut.min_priority)
        if cut.max_priority is not None:
            in_tier.append(or_(Mention.priority < cut.max_priority, Mention.priority.is_(None))
                           if cut.min_priority is None else Mention.priority < cut.max_priority)
        tiers.append(and_(*in_tier))
    return and_(unanswered, or_(*tiers) if tiers else false())


def _check_text(value: object, what: str) -> None:
    if not isinstance(value, str):
        raise QueueError(f"{what} must be text, not {type(value).__name__}")
    # Also SQLite's FTS read a NUL as the end of the phrase ("unterminated string").
    check_storable(value, what, QueueError)


def _check_time(value: datetime | None, what: str) -> None:
    if value is not None:
        in_utc(value, what, QueueError)


def check_filters(filters: QueueFilters) -> None:
    """Refuse, with a QueueError naming it, a filter value no query can take."""
    f = filters
    for what, values in (("a status", f.statuses), ("a platform", f.platforms), ("a sentiment", f.sentiments),
                         ("an intent", f.intents), ("a language", f.langs), ("a tag", f.tags)):
        for value in values:
            _check_text(value, f"{what} filter")
    if f.assignee is not None:
        _check_text(f.assignee, "the assignee filter")
    _check_text(f.text, "the search text")
    if len(f.text.strip()) > MAX_TEXT_LENGTH:
        raise QueueError(f"the search text can be at most {MAX_TEXT_LENGTH} characters")
    for brand_id in (*f.brand_ids, *f.competitor_brand_ids):
        if not isinstance(brand_id, numbers.Integral) or not _MIN_ID <= brand_id <= _MAX_ID:
            raise QueueError("a brand filter holds an id that no brand can have (not a 64-bit whole number)")
    _check_time(f.since, "the start date")
    _check_time(f.until, "the end date")
    for cut in f.sla_cutoffs:
        _check_time(cut.created_before, "an SLA cutoff")


def filtered(session: Session, filters: QueueFilters) -> Select[tuple[Mention]]:
    """``SELECT mentions`` with every filter applied (no order, no limit). The session picks the
    free-text plan (on SQLite it asks the FTS index how common the term is). QueueError for a bad filter."""
    check_filters(filters)
    query = select(Mention)
    f = filters
    sqlite = session.get_bind().dialect.name == "sqlite"
    if f.statuses:
        query = query.where(Mention.status.in_(f.statuses))
    if f.brand_ids:
        query = query.where(Mention.brand_id.in_(f.brand_ids))
    elif f.competitor_brand_ids:
        query = query.where(or_(Mention.brand_id.is_(None), Mention.brand_id.not_in(f.competitor_brand_ids)))
    if f.platforms:
        query = query.where(Mention.platform.in_(f.platforms))
    if f.sentiments:
        query = query.where(effective_sentiment().in_(f.sentiments))
    if f.intents:
        query = query.where(effective_intent().in_(f.intents))
    if f.assignee is not None:
        # Assignees are stored in NFC (users.clean_name) since 2026-12-07; older assignments keep the form they
        # were typed in ("jose\u0301"), and a user stored before may be named so: either form finds both.
        forms = {f.assignee, *(unicodedata.normalize(form, f.assignee) for form in ("NFC", "NFD"))}
        query = query.where(Mention.assignee.in_(forms))
    if f.unassigned:
        query = query.where(Mention.assignee.is_(None))
    if f.langs:
        query = query.where(Mention.lang.in_(_with_regional_variants(session, f.langs)))
    if f.tags:
        # Driven from the tag index: a tag usually marks few mentions, so look those up, then sort.
        query = query.where(Mention.id.in_(select(MentionTag.mention_id).where(MentionTag.tag.in_(f.tags))))
    if f.since is not None:
        query = query.where(Mention.created_at >= f.since)
    if f.until is not None:
        query = query.where(Mention.created_at < f.until)
    if f.text.strip():
        query = query.where(_text_condition(session, f.text.strip(), sqlite))
    if f.sla_cutoffs:
        query = query.where(_sla_condition(f.sla_cutoffs, sqlite))
    return query


def fetch_page(session: Session, filters: QueueFilters, sort: Sort = Sort.URGENT,
               after: str | None = None, limit: int = DEFAULT_PAGE_SIZE) -> QueuePage:
    """One page of the queue; pass ``next_cursor`` back as ``after`` for the next one."""
    if not isinstance(limit, numbers.Integral) or not 1 <= limit <= MAX_PAGE_SIZE:
        # SQLite reads a negative LIMIT as none at all, and PostgreSQL refuses one.
        raise QueueError(f"a page holds 1 to {MAX_PAGE_SIZE} mentions")
    position = _Position.decode(after, sort) if after else None
    base = filtered(session, filters)
    if sort is Sort.NEWEST:
        query = base
        if position is not None:
            query = query.where(tuple_(Mention.created_at, Mention.id) < (position.created_at, position.id))
        rows = list(session.scalars(query.order_by(Mention.created_at.desc(), Mention.id.desc()).limit(limit + 1)))
    else:
        rows = _urgent_rows(session, base, position, limit + 1)
    more = len(rows) > limit
    items = rows[:limit]
    next_cursor = None
    if more and items:
        last = items[-1]
        next_cursor = _Position(last.priority, last.created_at, last.id).encode(sort)
    return QueuePage(items, next_cursor)


def _urgent_rows(session: Session, base: Select[tuple[Mention]], position: _Position | None, want: int) -> list[Mention]:
    rows: list[Mention] = []
    if position is None or position.priority is not None:
        scored = base.where(Mention.priority.is_not(None))
        if position is not None:
            scored = scored.where(tuple_(Mention.priority, Mention.created_at, Mention.id)
                                  < (position.priority, position.created_at, position.id))
        order = (Mention.priority.desc(), Mention.created_at.desc(), Mention.id.desc())
        rows = list(session.scalars(scored.order_by(*order).limit(want)))
    if len(rows) < want:
        unscored = base.where(Mention.priority.is_(None))
        if position is not None and position.priority is None:
            unscored = unscored.where(tuple_(Mention.created_at, Mention.id) < (position.created_at, position.id))
        order = (Mention.created_at.desc(), Mention.id.desc())
        rows += session.scalars(unscored.order_by(*order).limit(want - len(rows)))
    return rows


def count(session: Session, filters: QueueFilters, cap: int = COUNT_CAP) -> tuple[int, bool]:
    """How many mentions match, up to ``cap``; the flag says the real number is larger."""
    capped = filtered(session, filters).with_only_columns(Mention.id).limit(cap + 1).subquery()
    n = session.scalar(select(func.count()).select_from(capped)) or 0
    return min(n, cap), n > cap


def thread_context(session: Session, mention: Mention, limit: int = 10) -> list[Mention]:
    """Other stored posts of the same conversation, oldest first (the parent included)."""
    if not mention.thread_id and not mention.parent_id:
        return []
    same_thread = [Mention.thread_id == mention.thread_id] if mention.thread_id else []
    parent = [Mention.external_id == mention.parent_id] if mention.parent_id else []
    query = (select(Mention)
             .where(Mention.platform == mention.platform, Mention.id != mention.id, or_(*same_thread, *parent))
             .order_by(Mention.created_at.desc()).limit(limit))
    return sorted(session.scalars(query), key=lambda m: m.created_at)


__all__ = ["ACTIVE_STATUSES", "BadCursor", "MAX_CURSOR_LENGTH", "MAX_PAGE_SIZE", "MAX_TEXT_LENGTH", "MIN_INDEXED_TEXT",
           "SHORT_TEXT_WINDOW", "QueueError", "QueueFilters", "QueuePage", "SavedView", "SlaCutoff", "Sort",
           "check_filters", "competitor_brand_ids", "count", "fetch_page", "filtered", "saved_views", "thread_context"]
