"""mentions: rows stored before ingest checked dates, languages and tags, cleaned as it now cleans them

Revision ID: 0014
Revises: 0013

Until 2026-12-06 ingest and import stored what came: a post dated 9999 (an RSS pubDate, an
imported record) sat above every real post in the queue for good, a ``lang`` of ``![](//e.co/p)``
reached dashboard labels, and on SQLite a tag holding a NUL could be neither shown as typed nor
removed. New rows are cleaned on the way in; this cleans the rows already stored, by the same
rules (`monitor.ingest.unbelievable`, `language_tag`, `monitor.triage.clean_tag`, as they were then),
and keeps what came in the raw payload under the keys ingest uses (``fetched_at_as_sent``,
``created_at_as_sent``, ``lang_as_sent``), and the tags it could not clean under ``tags_as_sent``.
Only the rows that need it are read: none, on a database ingest always checked.
"""

import re
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from alembic import op

from monitor.models import JSONType, UTCDateTime

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

mentions = sa.table("mentions", sa.column("id", sa.BigInteger), sa.column("created_at", UTCDateTime),
                    sa.column("fetched_at", UTCDateTime), sa.column("lang", sa.String), sa.column("raw", JSONType))
mention_tags = sa.table("mention_tags", sa.column("mention_id", sa.BigInteger), sa.column("tag", sa.String))


# The rules of monitor.ingest and monitor.triage as this migration was written (2026-12-06): frozen here, as a
# migration must do the same on every database whatever the code does later. Read live, clean_tag as 0018
# changed it (refusing what shows nothing) made this delete a tag "refund\u200b", which 0018 keeps as
# "refund": an upgrade from 0013 or earlier lost tags that one from 0014 to 0017 kept.
CLOCK_SKEW = timedelta(days=1)
EARLIEST_POST = datetime(1990, 1, 1, tzinfo=timezone.utc)
LANGUAGE_TAG = re.compile(r"[a-z]{1,8}(?:-[a-z0-9]{1,8})*")
LANG_LIMIT = 16
MAX_TAG_LENGTH = 100
SURROGATE = re.compile("[\ud800-\udfff]")


def storable(text: str) -> str:
    """``text`` as the database can hold it: without NUL, a lone surrogate as U+FFFD."""
    return SURROGATE.sub("\ufffd", text.replace("\x00", ""))


def unbelievable(when: datetime, now: datetime) -> bool:
    """A post or fetch time that is more than a day after ``now``, or before 1990."""
    return when - now > CLOCK_SKEW or when < EARLIEST_POST


def language_tag(value: str) -> str | None:
    """``value`` as a lower-case language tag (cut to whole subtags that fit), or None if it is not one."""
    tag = value.strip().lower().replace("_", "-")
    if not LANGUAGE_TAG.fullmatch(tag):
        return None
    while len(tag) > LANG_LIMIT:
        tag = tag.rsplit("-", 1)[0]
    return tag


def clean_tag(tag: str) -> str | None:
    """``tag`` storable, lower-case, whitespace runs as one space; None if that leaves nothing or is too long."""
    cleaned = " ".join(storable(tag).split()).lower()
    return cleaned if cleaned and len(cleaned) <= MAX_TAG_LENGTH else None


# Bad languages asked for per query: PostgreSQL takes at most 65,535 parameters in one statement, SQLite
# as built by default (3.32 on) 32,766.
LANGS_PER_QUERY = 10_000


def upgrade() -> None:
    conn = op.get_bind()
    now = datetime.now(timezone.utc)
    bad_langs = [lang for lang in conn.scalars(sa.select(mentions.c.lang).distinct())
                 if lang is not None and lang != language_tag(lang)]
    bad_dates = sa.or_(mentions.c.fetched_at > now + CLOCK_SKEW, mentions.c.fetched_at < EARLIEST_POST,
                       mentions.c.created_at > mentions.c.fetched_at, mentions.c.created_at < EARLIEST_POST)
    # The date query cleans its rows' languages too: no row is found twice.
    for suspects in (bad_dates, *(mentions.c.lang.in_(bad_langs[start:start + LANGS_PER_QUERY])
                                  for start in range(0, len(bad_langs), LANGS_PER_QUERY))):
        for row in conn.execute(sa.select(mentions).where(suspects)).all():
            _clean_mention(conn, row, now)
    _clean_tags(conn)


def _clean_mention(conn: sa.Connection, row: sa.Row, now: datetime) -> None:
    raw, values = dict(row.raw or {}), {}
    fetched_at = row.fetched_at
    if unbelievable(fetched_at, now):
        raw["fetched_at_as_sent"] = fetched_at.isoformat()
        values["fetched_at"] = fetched_at = now
    if unbelievable(row.created_at, fetched_at):
        raw["created_at_as_sent"] = row.created_at.isoformat()
        values["created_at"] = fetched_at
    if row.lang is not None and (lang := language_tag(row.lang)) != row.lang:
        if lang is None:
            raw["lang_as_sent"] = storable(row.lang)
        values["lang"] = lang
    if values:
        conn.execute(sa.update(mentions).where(mentions.c.id == row.id).values(raw=raw, **values))


def _clean_tags(conn: sa.Connection) -> None:
    """Tags as the queue kept them then; one that cleans to nothing (a lone NUL, a tag too long) or to a tag
    the mention already has goes, the first kind kept in the raw payload under ``tags_as_sent`` as
    ``lang_as_sent`` keeps a language. Every tag is read, a batch at a time (no SQL test says "not as
    clean_tag leaves it"); only the changes are held."""
    changes = []
    uncleanable: dict[int, list[str]] = {}
    all_tags = sa.select(mention_tags.c.mention_id, mention_tags.c.tag).execution_options(yield_per=10_000)
    for mention_id, tag in conn.execute(all_tags):
        cleaned = clean_tag(tag)
        if cleaned != tag:
            changes.append((mention_id, tag, cleaned))
    for mention_id, tag, cleaned in changes:
        this = sa.and_(mention_tags.c.mention_id == mention_id, mention_tags.c.tag == tag)
        taken = cleaned is not None and conn.scalar(sa.select(sa.literal(1)).where(
            mention_tags.c.mention_id == mention_id, mention_tags.c.tag == cleaned))
        if cleaned is None and (as_sent := storable(tag)).strip():  # a lone NUL or a blank tag held nothing
            uncleanable.setdefault(mention_id, []).append(as_sent)
        if cleaned is None or taken:
            conn.execute(sa.delete(mention_tags).where(this))
        else:
            conn.execute(sa.update(mention_tags).where(this).values(tag=cleaned))
    for mention_id, tags in uncleanable.items():
        this_mention = mentions.c.id == mention_id
        raw = dict(conn.scalar(sa.select(mentions.c.raw).where(this_mention)) or {})
        conn.execute(sa.update(mentions).where(this_mention).values(raw={**raw, "tags_as_sent": sorted(tags)}))


def downgrade() -> None:
    """Nothing to undo: what each row came with is kept in its raw payload, and the older schema
    reads the cleaned rows as they are."""
