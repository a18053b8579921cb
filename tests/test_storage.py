from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from click.testing import CliRunner
from sqlalchemy import inspect, select, text

from monitor.cli import cli
from monitor.errors import ConfigError
from monitor.models import Base, Mention, MentionTag, utcnow
from monitor.storage import Database, SchemaOutOfDate


def test_migrations_take_an_empty_database_to_head_matching_the_models(database_url: str) -> None:
    db = Database.open(database_url)
    assert db.current_revision() is None
    with pytest.raises(SchemaOutOfDate, match="mentiondesk db upgrade"):
        db.check_schema()
    db.upgrade()
    assert db.current_revision() == db.head_revision()
    db.check_schema()
    tables = set(inspect(db.engine).get_table_names())
    assert {"brands", "brand_queries", "cursors", "mentions", "mention_tags", "notes", "replies", "audit_log",
            "connector_status", "connector_usage"} <= tables
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_name": _not_search_structure})
        diff = compare_metadata(context, Base.metadata)
    assert diff == [], f"models and migrations disagree: {diff}"
    db.upgrade()  # idempotent
    db.dispose()


def _not_search_structure(name: str | None, type_: str, parent_names: object) -> bool:
    # The queue's full-text structures (SQLite FTS5 tables, PostgreSQL trigram indexes) are made by
    # raw SQL in migration 0004: no SQLAlchemy model describes them.
    return not (name or "").startswith("mentions_fts") and not (name or "").endswith("_trgm")


def test_sqlite_uses_wal_and_a_busy_timeout(sqlite_db: Database) -> None:
    with sqlite_db.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 30_000
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_default_database_is_a_file_in_the_data_directory(tmp_path: Path) -> None:
    config = tmp_path / "mentiondesk.toml"
    assert CliRunner().invoke(cli, ["--config", str(config), "init"]).exit_code == 0
    result = CliRunner().invoke(cli, ["--config", str(config), "status"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "home" / "mentiondesk.db").exists()


def test_bad_database_urls_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="not a valid SQLAlchemy URL"):
        Database.open("not a url")
    with pytest.raises(ConfigError, match="runs on SQLite or PostgreSQL, not 'mysql'"):
        Database.open("mysql+pymysql://app@db.example.com/mentions")
    with pytest.raises(ConfigError, match="no driver"):
        Database.open("postgresql+nosuchdriver://host/db")


def test_shared_server_needs_an_explicit_upgrade(postgres_url: str, tmp_path: Path) -> None:
    config = tmp_path / "mentiondesk.toml"
    CliRunner().invoke(cli, ["--config", str(config), "init"])
    env = {"MENTIONDESK_DATABASE_URL": postgres_url}
    status = CliRunner().invoke(cli, ["--config", str(config), "status"], env=env)
    assert status.exit_code == 1 and "run `mentiondesk db upgrade`" in status.output
    upgrade = CliRunner().invoke(cli, ["--config", str(config), "db", "upgrade"], env=env)
    assert upgrade.exit_code == 0, upgrade.output
    assert CliRunner().invoke(cli, ["--config", str(config), "status"], env=env).exit_code == 0


def test_upgrading_cleans_dates_languages_and_tags_stored_before_ingest_checked_them(database_url: str) -> None:
    # Rows as ingest and import stored them until 2026-12-06: the 9999 post sat above every real one
    # in the queue, the lang reached dashboard labels, and the SQLite NUL tag could not be removed.
    db = Database.open(database_url)
    db.upgrade("0013")
    now = utcnow()
    fetched = datetime(2026, 11, 1, 9, tzinfo=timezone.utc)
    rows = {"far": dict(created_at=datetime(9999, 12, 31, 23, tzinfo=timezone.utc), lang="![](//e.co/p)"),
            "both": dict(created_at=datetime(9999, 12, 31, 23, tzinfo=timezone.utc),
                         fetched_at=datetime(9999, 12, 31, 23, tzinfo=timezone.utc), lang="en_US"),
            "zero": dict(created_at=datetime(1970, 1, 1, tzinfo=timezone.utc), raw={"id": 7}),
            "fine": dict(created_at=fetched - timedelta(hours=2), lang="pt-br")}
    sqlite = database_url.startswith("sqlite")
    with db.write() as session:
        for external_id, fields in rows.items():
            session.add(Mention(platform="rss", external_id=external_id, text="acme", status="new",
                                **{"fetched_at": fetched, "raw": {}, **fields}))
        session.flush()
        fine = session.scalars(select(Mention).where(Mention.external_id == "fine")).one().id
        # PostgreSQL never stored a NUL; a tag typed with capitals and a double space, it did.
        tags = ["Billing  Issue", "billing issue", "vip\x00" if sqlite else "VIP", "\x00" if sqlite else "vip"]
        session.add_all(MentionTag(mention_id=fine, tag=tag) for tag in tags)
    db.upgrade()
    with db.read() as session:
        stored = {m.external_id: m for m in session.scalars(select(Mention))}
        kept_tags = sorted(session.scalars(select(MentionTag.tag).where(MentionTag.mention_id == fine)))
    far, both, zero = stored["far"], stored["both"], stored["zero"]
    assert far.created_at == fetched and far.lang is None
    assert far.raw == {"created_at_as_sent": "9999-12-31T23:00:00+00:00", "lang_as_sent": "![](//e.co/p)"}
    assert now <= both.fetched_at <= utcnow() and both.created_at == both.fetched_at and both.lang == "en-us"
    assert both.raw == {"fetched_at_as_sent": "9999-12-31T23:00:00+00:00",
                        "created_at_as_sent": "9999-12-31T23:00:00+00:00"}
    assert zero.created_at == fetched and zero.raw == {"id": 7, "created_at_as_sent": "1970-01-01T00:00:00+00:00"}
    assert (stored["fine"].created_at, stored["fine"].lang, stored["fine"].raw) == (fetched - timedelta(hours=2),
                                                                                  "pt-br", {})
    assert kept_tags == ["billing issue", "vip"]
    db.dispose()
