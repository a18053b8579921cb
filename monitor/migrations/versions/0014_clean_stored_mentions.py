"""mentions: rows stored before ingest checked dates, languages and tags, cleaned as it now cleans them

Revision ID: 0014
Revises: 0013

Until 2026-12-06 ingest and import stored what came: a post dated 9999 (an RSS pubDate, an
imported record) sat above every real post in the queue for good, a ``lang`` of ``![](//e.co/p)``
reached dashboard labels, and on SQLite a tag holding a NUL could be neither shown as typed nor
removed. New rows are cleaned on the way in; this cleans the rows already stored, by the same
rules (`monitor.ingest.unbelievable`, `language_tag`, `monitor.triage.clean_tag`), and keeps what
came in the raw payload under the keys ingest uses (``fetched_at_as_sent``, ``created_at_as_sent``,
``lang_as_sent``). Only the rows that need it are read: none, on a database ingest always checked.
"""

from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op

from monitor.ingest import CLOCK_SKEW, EARLIEST_POST, language_tag, storable, unbelievable
from monitor.models import JSONType, UTCDateTime
from monitor.triage import TriageError, clean_tag

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

mentions = sa.table("mentions", sa.column("id", sa.BigInteger), sa.column("created_at", UTCDateTime),
                    sa.column("fetched_at", UTCDateTime), sa.column("lang", sa.String), sa.column("raw", JSONType))
mention_tags = sa.table("mention_tags", sa.column("mention_id", sa.BigInteger), sa.column("tag", sa.String))


def upgrade() -> None:
    conn = op.get_bind()
    now = datetime.now(timezone.utc)
    bad_langs = [lang for lang in conn.scalars(sa.select(mentions.c.lang).distinct()) if lang != language_tag(lang)]
    suspects = conn.execute(sa.select(mentions).where(sa.or_(
        mentions.c.fetched_at > now + CLOCK_SKEW, mentions.c.fetched_at < EARLIEST_POST,
        mentions.c.created_at > mentions.c.fetched_at, mentions.c.created_at < EARLIEST_POST,
        mentions.c.lang.in_([lang for lang in bad_langs if lang is not None]))))
    for row in suspects.all():
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
    _clean_tags(conn)


def _clean_tags(conn: sa.Connection) -> None:
    """Tags as the queue keeps them; one that cleans to nothing (a lone NUL) or to a tag the mention
    already has goes. Every tag is read, a batch at a time (no SQL test says "not as clean_tag leaves
    it"); only the changes are held."""
    changes = []
    all_tags = sa.select(mention_tags.c.mention_id, mention_tags.c.tag).execution_options(yield_per=10_000)
    for mention_id, tag in conn.execute(all_tags):
        try:
            cleaned = clean_tag(storable(tag))
        except TriageError:
            cleaned = None
        if cleaned != tag:
            changes.append((mention_id, tag, cleaned))
    for mention_id, tag, cleaned in changes:
        this = sa.and_(mention_tags.c.mention_id == mention_id, mention_tags.c.tag == tag)
        taken = cleaned is not None and conn.scalar(sa.select(sa.literal(1)).where(
            mention_tags.c.mention_id == mention_id, mention_tags.c.tag == cleaned))
        if cleaned is None or taken:
            conn.execute(sa.delete(mention_tags).where(this))
        else:
            conn.execute(sa.update(mention_tags).where(this).values(tag=cleaned))


def downgrade() -> None:
    """Nothing to undo: what each row came with is kept in its raw payload, and the older schema
    reads the cleaned rows as they are."""
