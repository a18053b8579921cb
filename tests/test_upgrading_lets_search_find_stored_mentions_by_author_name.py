"""Upgrading indexes the author names of the mentions already stored (migration 0019), so "Search text or author"
finds them by the name their card shows; downgrading gives the search index back its earlier shape."""

from __future__ import annotations

from datetime import datetime, timezone

import alembic.command
import sqlalchemy as sa
from alembic.config import Config as AlembicConfig

from monitor import queue
from monitor.queue import QueueFilters
from monitor.storage import MIGRATIONS_DIR, Database

AT = datetime(2026, 11, 1, 9, tzinfo=timezone.utc)


def _found(db: Database, needle: str) -> list[int]:
    with db.read() as session:
        return sorted(m.id for m in queue.fetch_page(session, QueueFilters(text=needle)).items)


def _search_structure(db: Database) -> list[str]:
    """The columns the SQLite search index holds, or the PostgreSQL trigram indexes."""
    with db.engine.connect() as conn:
        if db.is_sqlite:
            return [row[1] for row in conn.exec_driver_sql("PRAGMA table_info(mentions_fts)")]
        return sorted(index["name"] for index in sa.inspect(conn).get_indexes("mentions")
                      if index["name"].endswith("_trgm"))


def test_mentions_stored_before_the_upgrade_are_found_by_author_name(database_url: str) -> None:
    db = Database.open(database_url)
    db.upgrade("0018")
    with db.engine.begin() as conn:
        mentions = sa.Table("mentions", sa.MetaData(), autoload_with=conn)
        conn.execute(mentions.insert(), [
            dict(id=1, platform="rss", external_id="https://blog.example/p/1", text="Orbisto lost my parcel",
                 author_handle=None, author_name="Jane Blogger", created_at=AT, fetched_at=AT, raw={}, replyable=False,
                 status="new"),
            dict(id=2, platform="x", external_id="17", text="Orbisto support never answers", author_handle="jb_1984",
                 author_name="Jane Blogger", created_at=AT, fetched_at=AT, raw={}, replyable=False, status="new")])
    db.upgrade()
    assert _found(db, "jane blogger") == [1, 2]
    assert _found(db, "@jb_1984") == [2]
    with db.write() as session:  # edits reach the index
        session.execute(sa.text("UPDATE mentions SET author_name = 'Janet Writes' WHERE id = 1"))
    assert _found(db, "janet") == [1] and _found(db, "jane blogger") == [2]

    with db.engine.begin() as conn:
        cfg = AlembicConfig()
        cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
        cfg.attributes["connection"] = conn
        alembic.command.downgrade(cfg, "0018")
    assert _search_structure(db) == (["text", "author_handle"] if db.is_sqlite
                                     else ["ix_mentions_author_handle_trgm", "ix_mentions_text_trgm"])
    assert _found(db, "parcel") == [1] and _found(db, "jb_1984") == [2]  # still indexed, and kept in step
    db.upgrade()
    assert _found(db, "janet") == [1]
    db.dispose()
