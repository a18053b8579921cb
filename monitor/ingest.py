"""connector → ingest: normalise, de-duplicate and store mentions, and advance the cursor.

A page's mentions and its cursor are written in ONE transaction: a crash at any point either
keeps both or neither, so the next poll re-fetches what was lost and the unique
(platform, external_id) key drops what was already stored. A copy fetched by another brand's query
may still move the stored post to that brand (see `store_mentions`).
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Boolean, Integer, Table, bindparam, case, exists, select, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from connectors.base import MAX_EXTERNAL_ID, FetchResult
from connectors.base import Mention as FetchedMention
from monitor import audit
from monitor.errors import IngestError
from monitor.models import Brand, BrandQuery, ConnectorUsage, Cursor, Mention, utcnow
from monitor.storage import Database
from monitor.text import safe_url

log = logging.getLogger("mentiondesk.ingest")

# Rows per INSERT statement: well under SQLite's 32k bound-parameter limit at ~20 columns a row.
INSERT_CHUNK = 500
SET_ASIDE = "ingest.set_aside"  # the audit action that keeps a fetched mention ingest could not store


@dataclass(frozen=True)
class IngestResult:
    received: int
    new_ids: list[int]
    # Mentions of the page that could not be stored: each is kept in the audit log (see `ingest_page`).
    set_aside: int = 0
    # The writer no longer held the query's poll: its mentions were stored, its cursor was not.
    lease_lost: bool = False

    @property
    def stored(self) -> int:
        return len(self.new_ids)

    @property
    def duplicates(self) -> int:
        return self.received - self.stored - self.set_aside


_SURROGATE = re.compile("[\ud800-\udfff]")


def storable(value: Any) -> Any:
    """`value` with every string in it storable: PostgreSQL rejects NUL in text and JSON, and NUL
    carries no meaning in a post; lone surrogates (what invalid UTF-8 decodes to with
    surrogateescape) cannot be encoded at all, so they become U+FFFD. NaN and infinity become None."""
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value.replace("\x00", ""))
    if isinstance(value, dict):
        return {storable(k): storable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [storable(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def check_storable(text: str, what: str, error: type[Exception]) -> None:
    """Refuse, as `error` naming `what`, text a person typed that cannot be stored as typed (a NUL, a
    lone surrogate): a driver traceback otherwise, and rather than cleaned, so what is kept is what
    was typed."""
    if storable(text) != text:
        raise error(f"{what} holds a NUL or an unpaired surrogate character and cannot be stored; "
                    "remove it and try again")


def in_utc(when: object, what: str, error: type[Exception]) -> datetime:
    """`when` in UTC, as the database keeps times; `error` naming `what` if it is not a datetime with
    a time zone, or leaves the years 1 to 9999 once in UTC (9999-12-31 23:00 at UTC-5), which an
    OverflowError mid-write or mid-query would otherwise say."""
    if not isinstance(when, datetime) or when.utcoffset() is None:
        raise error(f"{what} must be a date and time with a time zone")
    try:
        return when.astimezone(timezone.utc)
    except OverflowError:
        raise error(f"{what} is out of range: it must fall in the years 1 to 9999 in UTC") from None


# A language tag as BCP 47 spells one (``en``, ``pt-br``, ``zh-hant``, ``und``): letters, digits and
# hyphens (a locale's ``en_US`` is read as ``en-us``). Anything else in ``lang`` is not a language,
# and it would reach dashboard labels and filters.
_LANGUAGE_TAG = re.compile(r"[a-z]{1,8}(?:-[a-z0-9]{1,8})*")
LANG_LIMIT = 16  # Mention.lang's column width
BIGINT_MAX = 2**63 - 1  # the largest author_followers (a BIGINT) and id the database holds

# A time more than clocks disagree after now (an imported fetch time), or before any platform we read existed
# (1970-01-01 is what a zero timestamp decodes to), is not believable. A post is dated when fetched already if it
# is dated after that (see `normalise`); the date it came with stays in its raw payload.
CLOCK_SKEW = timedelta(days=1)
EARLIEST_POST = datetime(1990, 1, 1, tzinfo=timezone.utc)


def unbelievable(when: datetime, now: datetime) -> bool:
    """A post or fetch time that is more than a day after ``now``, or before 1990."""
    # Comparing aware datetimes cannot overflow; converting one from year 1 or 9999 to UTC can.
    return when - now > CLOCK_SKEW or when < EARLIEST_POST


def language_tag(value: Any) -> str | None:
    """``value`` as a lower-case language tag, or None if it is not one."""
    if not isinstance(value, str):
        return None
    tag = value.strip().lower().replace("_", "-")
    if not _LANGUAGE_TAG.fullmatch(tag):
        return None
    while len(tag) > LANG_LIMIT:  # the longest prefix of whole subtags that fits
        tag = tag.rsplit("-", 1)[0]
    return tag


def _optional_str(value: Any, field: str, limit: int) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise IngestError(f"{field} must be text")
    return storable(value)[:limit] or None


def normalise(mention: FetchedMention, *, brand_id: int | None, query_id: int | None, fetched_at: datetime) -> dict[str, Any]:
    """Validate one fetched mention and turn it into a row; raises IngestError naming the field.

    ``fetched_at`` is now, or a believable time an import came with (see `unbelievable`).
    """
    if not isinstance(mention.platform, str) or not mention.platform:
        raise IngestError("mention has no platform")
    if not isinstance(mention.external_id, str) or not mention.external_id.strip():
        raise IngestError(f"{mention.platform} mention has no external id")
    where = f"{mention.platform} mention {mention.external_id[:80]!r}"
    if not isinstance(mention.text, str):
        raise IngestError(f"{where}: text must be a string")
    if not isinstance(mention.created_at, datetime) or mention.created_at.utcoffset() is None:
        raise IngestError(f"{where}: created_at must be a timezone-aware datetime")
    followers = mention.author_followers
    if followers is not None and (isinstance(followers, bool) or not isinstance(followers, int) or followers < 0):
        raise IngestError(f"{where}: author_followers must be a non-negative integer")
    try:
        raw = json.loads(json.dumps(storable(mention.raw or {}), default=str))
    except (TypeError, ValueError):
        raise IngestError(f"{where}: raw payload is not JSON-serialisable") from None
    if not isinstance(raw, dict):  # what normalise keeps aside goes in under its own keys
        raise IngestError(f"{where}: raw payload must be a JSON object")
    if len(mention.external_id) > MAX_EXTERNAL_ID:
        raise IngestError(f"{where}: external id longer than {MAX_EXTERNAL_ID} characters")
    if storable(mention.external_id) != mention.external_id:  # not cleaned: a reply addresses the post by it
        raise IngestError(f"{where}: external id holds a NUL or an unpaired surrogate")
    if followers is not None and followers > BIGINT_MAX:  # no account has that many; the column cannot hold it
        raw["author_followers_as_sent"] = str(followers)
        followers = None
    created_at = mention.created_at
    # Dated after we had it (a platform's clock ahead, a feed's local time labelled UTC), or before any platform:
    # dated when fetched. Every SLA deadline and response time starts at created_at, so a post dated five hours
    # ahead and answered at once took minus five hours, and an unanswered urgent one stayed "on track" for hours.
    if created_at > fetched_at or created_at < EARLIEST_POST:
        raw["created_at_as_sent"] = created_at.isoformat()
        created_at = fetched_at
    created_at = created_at.astimezone(timezone.utc)
    lang = language_tag(mention.lang)
    if lang is None and mention.lang not in (None, ""):
        # Not a reason to lose the post: it is stored without a language, and what came stays in raw.
        raw["lang_as_sent"] = storable(str(mention.lang))[:200]
    return {
        "brand_id": brand_id,
        "query_id": query_id,
        "platform": mention.platform,
        "external_id": mention.external_id,
        # Only web links are stored as links; anything else (javascript:, data:) stays in the raw payload.
        "url": safe_url(_optional_str(mention.url, f"{where}: url", 4000)),
        "author_handle": _optional_str(mention.author_handle, f"{where}: author_handle", 200),
        "author_name": _optional_str(mention.author_name, f"{where}: author_name", 500),
        "author_followers": followers,
        "text": storable(mention.text),
        "lang": lang,
        "created_at": created_at,
        "fetched_at": fetched_at,
        "raw": raw,
        "thread_id": _optional_str(mention.thread_id, f"{where}: thread_id", 200),
        "parent_id": _optional_str(mention.parent_id, f"{where}: parent_id", 200),
        "replyable": bool(mention.replyable),
        "status": "new",
    }


def dialect_insert(session: Session) -> Any:
    """``INSERT`` with ``ON CONFLICT`` support for the session's database (SQLite or PostgreSQL)."""
    return (postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert)


def upsert(session: Session, table: Table, values: dict[str, Any], key: Sequence[str], update: dict[str, Any]) -> None:
    stmt = dialect_insert(session)(table).values(**values)
    session.execute(stmt.on_conflict_do_update(index_elements=list(key), set_=update))


def store_mentions(session: Session, rows: Iterable[dict[str, Any]], upgrade_stored: bool = False) -> list[int]:
    """Insert rows, skipping any (platform, external_id) already stored; returns the new ids.

    ``upgrade_stored`` (polling): a copy of a post already stored, fetched by another query, may
    upgrade the stored row (see `_upgrade_stored`); it is still not new.
    """
    unique: dict[tuple[str, str], dict[str, Any]] = {}
    copies: list[dict[str, Any]] = []  # rows whose post is stored already, or comes twice in `rows`
    for row in rows:
        key = (row["platform"], row["external_id"])
        if key in unique:
            copies.append(row)
        else:
            unique[key] = row
    batch = list(unique.values())
    new: dict[tuple[str, str], int] = {}
    table = Mention.__table__
    for start in range(0, len(batch), INSERT_CHUNK):
        stmt = (
            dialect_insert(session)(table)
            .on_conflict_do_nothing(index_elements=["platform", "external_id"])
            .returning(table.c.id, table.c.platform, table.c.external_id)
        )
        new.update(((platform, external_id), mention_id) for mention_id, platform, external_id
                   in session.execute(stmt, batch[start : start + INSERT_CHUNK]))
    if upgrade_stored:
        copies += [row for key, row in unique.items() if key not in new]
        _upgrade_stored(session, copies)
    return sorted(new.values())


# How much a copy of a post matters to the team that answers it, added up: it was fetched for one of
# our brands (not a competitor, nor no brand), and it may be replied to (it @mentions the brand's account).
OURS_RANK, REPLYABLE_RANK = 2, 1


def _upgrade_stored(session: Session, copies: Sequence[dict[str, Any]]) -> None:
    """A post stays one row, first stored under the brand of the query that fetched it. A later copy
    that ranks higher moves it to its own query's brand: one of ours over a competitor, then the
    brand whose account the post @mentions, and takes that copy's reply rights. A copy for the stored
    brand that may be replied to makes the post replyable; another brand's cannot (its account was
    the one @mentioned). A post so changed is classified again, so its triage and alerts follow, and a
    post so moved leaves its old brand's incident (see `incidents.release_moved_mentions`)."""
    from monitor.incidents import release_moved_mentions  # which imports this module
    if not copies:
        return
    table = Mention.__table__
    stored_ours = exists().where(Brand.id == table.c.brand_id, Brand.competitor.is_(False))
    stored_rank = case((stored_ours, OURS_RANK), else_=0) + case((table.c.replyable, REPLYABLE_RANK), else_=0)
    copy_replyable = bindparam("copy_replyable", type_=Boolean)
    copy_brand_id = bindparam("copy_brand_id", type_=Integer)
    copy_ours = exists().where(Brand.id == copy_brand_id, Brand.competitor.is_(False))
    copy_rank = case((copy_ours, OURS_RANK), else_=0) + case((copy_replyable, REPLYABLE_RANK), else_=0)
    outranked = stored_rank < copy_rank
    # Replyable means the brand's own account may answer: only a copy for the stored brand adds that.
    same_brand_adds_reply = copy_replyable & ~table.c.replyable & (table.c.brand_id == copy_brand_id)
    stmt = (
        table.update()
        .where(table.c.platform == bindparam("copy_platform"), table.c.external_id == bindparam("copy_external_id"),
               outranked | same_brand_adds_reply)
        .values(replyable=case((outranked, copy_replyable), else_=True),
                brand_id=case((outranked, copy_brand_id), else_=table.c.brand_id),
                query_id=case((outranked, bindparam("copy_query_id", type_=Integer)), else_=table.c.query_id),
                # Classified again: its needs-response, priority and urgent alert were decided for the
                # brand and reply rights it had. A classify worker reading it now read the old row:
                # dropping its claim keeps that worker from storing the old row's triage.
                classified_at=None, classify_claimed_by=None, classify_claimed_until=None)
    )
    session.execute(stmt, [
        {"copy_platform": row["platform"], "copy_external_id": row["external_id"], "copy_replyable": row["replyable"],
         "copy_brand_id": row["brand_id"], "copy_query_id": row["query_id"]}
        for row in copies])
    release_moved_mentions(session, select(table.c.id).where(
        tuple_(table.c.platform, table.c.external_id).in_([(row["platform"], row["external_id"]) for row in copies])))


def ingest_page(db: Database, *, connector: str, query_id: int, result: FetchResult,
                renew_lease: Callable[[Session], bool] | None = None) -> IngestResult:
    """Store one fetched page and its cursor atomically.

    ``renew_lease``, run first in the page's transaction, renews the fetcher's poll lease. Where it was
    lost (the fetch outlived it, and another worker took the query over and may have stored a later
    cursor), the mentions are stored, as dedupe keeps them single, but not the cursor: this older one
    would make the next poll read those pages again (on X, billed reads).

    A mention that cannot be stored even cleaned (see `normalise`: an id longer than the store's, a
    text that is not text) is set aside, not stored: kept whole in the audit log as ``ingest.set_aside``
    (admins can read and export it) and logged, by platform and id, as a warning. Refusing the page
    for it, as until 2026-12-06, stopped its source on every round, and the mentions after it were
    never stored. A page holding another platform's mentions is a connector bug: it is refused.

    The page's billable reads are counted first, apart from it (see `count_usage`).
    """
    count_usage(db, connector, result.units_used)
    fetched_at = utcnow()
    with db.write() as session:
        lease_lost = renew_lease is not None and not renew_lease(session)
        brand_id = session.scalar(select(BrandQuery.brand_id).where(BrandQuery.id == query_id))
        rows = []
        for mention in result.mentions:
            try:
                rows.append(normalise(mention, brand_id=brand_id, query_id=query_id, fetched_at=fetched_at))
            except IngestError as exc:
                _set_aside(session, connector, query_id, mention, exc)
        wrong = {r["platform"] for r in rows} - {connector}
        if wrong:
            raise IngestError(f"connector {connector!r} returned mentions for platform(s) {sorted(wrong)}")
        new_ids = store_mentions(session, rows, upgrade_stored=True)
        if not lease_lost:
            upsert(session, Cursor.__table__,
                   {"query_id": query_id, "value": result.next_cursor, "updated_at": fetched_at},
                   ["query_id"], {"value": result.next_cursor, "updated_at": fetched_at})
    return IngestResult(received=len(result.mentions), new_ids=new_ids, set_aside=len(result.mentions) - len(rows),
                        lease_lost=lease_lost)


def _set_aside(session: Session, connector: str, query_id: int, mention: FetchedMention, reason: IngestError) -> None:
    """Keep a mention that cannot be stored in the audit log, in the page's transaction, so nothing is lost.
    The warning names it by platform and (cut, quoted) id only: never its text."""
    log.warning("connector %s: a fetched mention was set aside in the audit log (%s), not stored: %s",
                connector, SET_ASIDE, reason)
    audit.record(session, audit.SYSTEM_ACTOR, SET_ASIDE, connector=connector, query_id=query_id, reason=str(reason),
                 mention={f.name: _json_value(getattr(mention, f.name)) for f in fields(mention)})


def _json_value(value: Any) -> Any:
    """``value`` as the audit log can keep it: storable JSON, or, where it cannot be written as JSON (an
    integer of over 4,300 digits, a cycle), a note saying so."""
    try:
        return json.loads(json.dumps(storable(value), default=str))
    except (TypeError, ValueError, RecursionError):
        return f"<a {type(value).__name__} that cannot be written as JSON>"


def usage_day(now: datetime | None = None) -> str:
    return (now or utcnow()).strftime("%Y-%m-%d")


def count_usage(db: Database, connector: str, units: int) -> None:
    """Count ``units`` billable reads against today's cap in a transaction of their own: the platform billed
    them whatever becomes of the page (refused, or its store rolled back), and counted only with it, those
    reads were read (and billed) again at every poll, never reaching the cap."""
    if units:
        with db.write() as session:
            add_usage(session, connector, units)


def add_usage(session: Session, connector: str, units: int) -> None:
    table = ConnectorUsage.__table__
    upsert(session, table, {"connector": connector, "day": usage_day(), "units": units},
           ["connector", "day"], {"units": table.c.units + units})


def usage_today(session: Session, connector: str) -> int:
    units = session.scalar(
        select(ConnectorUsage.units).where(ConnectorUsage.connector == connector, ConnectorUsage.day == usage_day())
    )
    return int(units or 0)


def read_cursor(session: Session, query_id: int) -> str | None:
    return session.scalar(select(Cursor.value).where(Cursor.query_id == query_id))


CONFIG_ACTOR = "config"  # the audit actor of settings read from the config file


# A brand's stored settings, which the config sets (a change is audited as `settings.brand`).
_BRAND_SETTINGS = ("name", "reply_approval", "competitor")


def sync_brands(db: Database, brands: Iterable[Any], queries: dict[str, list[Any]]) -> dict[tuple[str, str], int]:
    """Make the brands and queries from the config exist; returns {(connector, query key): query id}.

    A brand or query whose settings differ from what is stored (a config edit) is audited as a
    setting change by ``config``, with the values before and after.
    """
    ids: dict[tuple[str, str], int] = {}
    with db.write() as session:
        stored_brands = {r.key: {k: getattr(r, k) for k in _BRAND_SETTINGS}
                         for r in session.execute(select(Brand.key, *(getattr(Brand, k) for k in _BRAND_SETTINGS)))}
        for brand in brands:
            settings = {k: getattr(brand, k) for k in _BRAND_SETTINGS}
            if stored_brands.get(brand.key) != settings:
                audit.record(session, CONFIG_ACTOR, "settings.brand", brand=brand.key,
                             before=stored_brands.get(brand.key), after=settings)
            upsert(session, Brand.__table__, {"key": brand.key, "created_at": utcnow(), **settings}, ["key"], settings)
        brand_ids = dict(session.execute(select(Brand.key, Brand.id)).all())
        stored_queries = {(r.connector, r.key): r.definition
                          for r in session.execute(select(BrandQuery.connector, BrandQuery.key, BrandQuery.definition))}
        for connector, connector_queries in queries.items():
            for query in connector_queries:
                definition = {"keywords": list(query.keywords), "exclude": list(query.exclude),
                              "handle": query.handle, "raw": query.raw}
                if stored_queries.get((connector, query.key)) != definition:
                    audit.record(session, CONFIG_ACTOR, "settings.query", connector=connector, brand=query.key,
                                 before=stored_queries.get((connector, query.key)), after=definition)
                upsert(session, BrandQuery.__table__,
                       {"brand_id": brand_ids[query.key], "connector": connector, "key": query.key,
                        "definition": definition, "created_at": utcnow()},
                       ["connector", "key"], {"definition": definition})
        for connector, key, query_id in session.execute(select(BrandQuery.connector, BrandQuery.key, BrandQuery.id)):
            ids[(connector, key)] = query_id
    return ids
