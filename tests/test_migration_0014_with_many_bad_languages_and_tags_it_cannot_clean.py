"""Migration 0014 (cleaning rows stored before ingest checked them) on more bad languages than one
statement takes, and on tags it cannot clean: the upgrade passes, and what it drops is kept in raw."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from monitor.storage import Database

AT = datetime(2026, 11, 1, 9, tzinfo=timezone.utc)
# SQLite's limit on parameters in one statement as built by default since 3.32 (Debian's build raises it).
SQLITE_PARAMETER_LIMIT = 32_766


def _mentions_at_0013(db: Database, langs: dict[int, str | None], raw: dict[int, Any] | None = None) -> None:
    db.upgrade("0013")
    with db.engine.begin() as conn:
        mentions = sa.Table("mentions", sa.MetaData(), autoload_with=conn)
        conn.execute(mentions.insert(), [dict(id=i, platform="x", external_id=str(i), text="acme", created_at=AT,
                                              fetched_at=AT, raw=(raw or {}).get(i, {}), replyable=False,
                                              status="new", lang=lang) for i, lang in langs.items()])


def test_more_distinct_bad_languages_than_a_statement_takes_are_all_cleaned(tmp_path: Path) -> None:
    # One IN list held every bad language: on PostgreSQL over 65,535 failed the upgrade ("the query has
    # too many parameters"), on a stock SQLite over 32,766 ("too many SQL variables"), for good.
    url = f"sqlite:///{tmp_path / 'mentiondesk.db'}"
    count = SQLITE_PARAMETER_LIMIT + 100
    db = Database.open(url)
    _mentions_at_0013(db, {i: f"L_{i}!" for i in range(1, count + 1)} | {count + 1: "EN_us"})
    db.dispose()
    db = Database.open(url)
    sa.event.listen(db.engine, "connect", lambda connection, _record: connection.setlimit(
        sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, SQLITE_PARAMETER_LIMIT))
    db.upgrade()
    with db.engine.connect() as conn:
        langs = conn.execute(sa.text("SELECT lang, count(*) FROM mentions GROUP BY lang ORDER BY lang")).all()
        kept = conn.execute(sa.text("SELECT raw FROM mentions WHERE id = 7")).scalar_one()
    assert langs == [(None, count), ("en-us", 1)]
    assert kept == '{"lang_as_sent": "L_7!"}'
    db.dispose()


def test_tags_it_cannot_clean_are_kept_in_the_mentions_raw(database_url: str) -> None:
    # A tag over 100 characters once lower-cased ("İ" is two) was
    # deleted leaving no trace, where a language it could not clean is kept under lang_as_sent.
    db = Database.open(database_url)
    _mentions_at_0013(db, {1: "en", 2: "en"}, raw={1: None, 2: {"id": "2"}})
    tags = {1: ["İ" * 60, "VIP", "vip", "   "], 2: ["ring\x07", "Billing  Issue"]}
    with db.engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO mention_tags (mention_id, tag) VALUES (:mention, :tag)"),
                     [{"mention": mention, "tag": tag} for mention, its_tags in tags.items() for tag in its_tags])
    db.upgrade()
    with db.engine.connect() as conn:
        mentions = sa.Table("mentions", sa.MetaData(), autoload_with=conn)
        raws = dict(conn.execute(sa.select(mentions.c.id, mentions.c.raw)).all())
        kept = conn.execute(sa.text("SELECT mention_id, tag FROM mention_tags ORDER BY mention_id, tag")).all()
    assert raws == {1: {"tags_as_sent": ["İ" * 60]}, 2: {"id": "2"}}
    # A control character is left to 0018, which drops it, as an upgrade from 0017 does.
    assert kept == [(1, "vip"), (2, "billing issue"), (2, "ring")]
    db.dispose()
