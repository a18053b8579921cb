"""Opening the database: SQLite by default (WAL, busy timeout), any SQLAlchemy URL otherwise."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from monitor.errors import ConfigError, MentiondeskError

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
SQLITE_BUSY_TIMEOUT_MS = 30_000


class SchemaOutOfDate(MentiondeskError):
    pass


SUPPORTED_BACKENDS = ("sqlite", "postgresql")


class DatabaseFull(MentiondeskError):
    """A write needed more space than the disk (or SQLite's max_page_count) had; it was rolled back."""


# PostgreSQL's SQLSTATE for "could not extend file: No space left on device".
_PG_DISK_FULL = "53100"


def _is_full(exc: OperationalError) -> bool:
    return (getattr(exc.orig, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL
            or getattr(exc.orig, "sqlstate", None) == _PG_DISK_FULL)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, issue BEGIN, so writers can take the lock up front.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # A deferred transaction that later writes fails at once with "database is locked" when
        # another writer holds the lock; BEGIN IMMEDIATE waits for busy_timeout instead.
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("sqlite_immediate") else "BEGIN")


class Database:
    """An engine plus session factories. ``write()`` is the one way to change data."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.is_sqlite = engine.dialect.name == "sqlite"
        self._read = sessionmaker(engine, expire_on_commit=False)
        write_engine = engine.execution_options(sqlite_immediate=True) if self.is_sqlite else engine
        self._write = sessionmaker(write_engine, expire_on_commit=False)

    @classmethod
    def open(cls, url: str, **engine_options: Any) -> "Database":
        try:
            parsed = make_url(url)
        except ArgumentError:
            raise ConfigError("database.url: not a valid SQLAlchemy URL (e.g. sqlite:///path/to/file.db)") from None
        if parsed.get_backend_name() not in SUPPORTED_BACKENDS:
            # Ingest's upserts and the migrations' search indexes are written for these two.
            raise ConfigError(f"database.url: mentiondesk runs on SQLite or PostgreSQL, not {parsed.get_backend_name()!r} "
                              "(sqlite:///path/to/file.db or postgresql+psycopg://user@host/db)")
        if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        try:
            engine = create_engine(parsed, pool_pre_ping=True, **engine_options)
        except (NoSuchModuleError, ImportError) as exc:
            raise ConfigError(
                f"database.url: no driver for {parsed.drivername!r} ({exc.__class__.__name__}); "
                "for PostgreSQL install mentiondesk[postgres] and use postgresql+psycopg://"
            ) from None
        if engine.dialect.name == "sqlite":
            _configure_sqlite(engine)
        return cls(engine)

    @property
    def display_url(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self._read() as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """One transaction: committed when the block ends, rolled back on any exception.

        A full disk raises :class:`DatabaseFull` (the driver's error would quote our SQL and its
        parameters, mention text included); nothing from the transaction is kept.
        """
        try:
            with self._write() as session, session.begin():
                yield session
        except OperationalError as exc:
            if not _is_full(exc):
                raise
            raise DatabaseFull(f"the database is full ({self.display_url}): free disk space; "
                               "nothing from this change was saved") from None

    # -- migrations -------------------------------------------------------------------------

    def _alembic_config(self) -> AlembicConfig:
        cfg = AlembicConfig()
        cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
        return cfg

    def upgrade(self, revision: str = "head") -> None:
        with self.engine.begin() as connection:
            cfg = self._alembic_config()
            cfg.attributes["connection"] = connection
            command.upgrade(cfg, revision)

    def current_revision(self) -> str | None:
        with self.engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()

    def head_revision(self) -> str | None:
        return ScriptDirectory.from_config(self._alembic_config()).get_current_head()

    def check_schema(self) -> None:
        current, head = self.current_revision(), self.head_revision()
        if current != head:
            raise SchemaOutOfDate(
                f"database {self.display_url} is at schema {current or 'empty'}, expected {head}; "
                "run `mentiondesk db upgrade`"
            )

    def dispose(self) -> None:
        self.engine.dispose()
