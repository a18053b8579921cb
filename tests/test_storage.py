from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from click.testing import CliRunner
from sqlalchemy import inspect, text

from monitor.cli import cli
from monitor.errors import ConfigError
from monitor.models import Base
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
