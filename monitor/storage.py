"""Opening the database: SQLite by default (WAL, busy timeout), any SQLAlchemy URL otherwise."""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import sqlite3
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.util import asbool

from monitor.errors import ConfigError, MentiondeskError
from monitor.paths import make_private_folder
from monitor.redact import MASK
from monitor.search_text import search_fold

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
SQLITE_BUSY_TIMEOUT_MS = 30_000


class SchemaOutOfDate(MentiondeskError):
    pass


class SchemaTooNew(MentiondeskError):
    """The database was migrated by a newer mentiondesk, to a revision this one does not know."""


class MigrationFailed(MentiondeskError):
    """A migration would have left the database inconsistent, or could not run; it was rolled back."""


class SchemaRevisionUnreadable(MentiondeskError):
    """The alembic_version table holds more than one revision (two rows, written by hand or by a bad restore)."""


SUPPORTED_BACKENDS = ("sqlite", "postgresql")

# The lock `run` holds beside a SQLite database (monitor.workers), named after it.
WORKER_LOCK_SUFFIX = ".worker.lock"
# What is kept beside a SQLite database, named after it: SQLite's write-ahead log, its shared memory and a
# rollback journal, and the worker lock. Writing over any of them loses data or lets two workers in.
SQLITE_SIDE_FILES = {"-wal": "write-ahead log", "-shm": "shared-memory file", "-journal": "rollback journal",
                     WORKER_LOCK_SUFFIX: "worker lock"}



def _alembic_config() -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


@functools.cache
def _migration_scripts() -> ScriptDirectory:
    """The migrations, read once per process: reading every script again took 14 ms of each start's upgrade."""
    return ScriptDirectory.from_config(_alembic_config())

class DatabaseFull(MentiondeskError):
    """A write needed more space than the disk (or SQLite's max_page_count) had; it was rolled back."""


# PostgreSQL's SQLSTATE for "could not extend file: No space left on device".
_PG_DISK_FULL = "53100"

# The PostgreSQL advisory lock an upgrade holds until it commits. Its second key is the schema's, so
# installs in two schemas of one database do not wait for each other (save in their first upgrades: 0004 makes
# the database's one pg_trgm under a lock of the whole database); the first is b"mdmg" as a number.
_TAKE_PG_MIGRATION_LOCK = text("SELECT pg_advisory_xact_lock(1835298151, hashtext(coalesce(current_schema(), '')))")
# The schema unqualified CREATE TABLEs make tables in: the first one of the search_path that exists.
_PG_CURRENT_SCHEMA = text("SELECT current_schema()")

# The database's encoding and LC_CTYPE, and whether ILIKE ignores case beyond a-z there. PostgreSQL's ILIKE and
# lower() (and so the pg_trgm indexes) follow LC_CTYPE: under C or POSIX they fold ASCII only. Asked of the server
# rather than read from the name; the probe's letters are sent only to a UTF8 database, the one encoding that
# holds them (a LATIN1 one refused the query, and with it every command).
_PG_ENCODING_AND_CTYPE = text("SELECT pg_encoding_to_char(encoding), datctype FROM pg_database "
                              "WHERE datname = current_database()")
_PG_SEARCH_FOLDS_ANY_SCRIPT = text("SELECT 'ÀΩЖ' ILIKE 'àωж'")
_MOVE_TO_UTF8 = ("create a database with a UTF-8 locale (CREATE DATABASE … TEMPLATE template0 ENCODING 'UTF8' "
                 "LOCALE 'C.UTF-8') and move the data there (pg_dump, pg_restore)")


def _is_full(exc: OperationalError) -> bool:
    return (getattr(exc.orig, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL
            or getattr(exc.orig, "sqlstate", None) == _PG_DISK_FULL)


def _is_password_parameter(name: str) -> bool:
    # libpq also takes `password` (and `sslpassword`, the client key's) as query parameters.
    return "password" in name.lower()


def parse_database_url(url: str, key: str = "database.url") -> URL:
    """``url`` parsed, or a ConfigError naming ``key``; it never quotes the URL, which may hold a password."""
    try:
        return make_url(url)
    except ArgumentError:
        raise ConfigError(f"{key}: not a valid SQLAlchemy URL (e.g. sqlite:///path/to/file.db)") from None
    except ValueError:  # SQLAlchemy reads the port with int(): "db.example.com:54e2"
        raise ConfigError(f"{key}: the port is not a number "
                          "(e.g. postgresql+psycopg://user@db.example.com:5432/db)") from None


def url_passwords(url: str | URL) -> list[str]:
    """The passwords a database URL holds, in its user part or its query, for log masking."""
    parsed = make_url(url)
    in_query = [value for name, values in parsed.query.items() if _is_password_parameter(name)
                for value in ((values,) if isinstance(values, str) else values)]
    return [password for password in (parsed.password, *in_query) if password]


def displayable_url(url: str | URL) -> str:
    """The URL with every password masked, in the user part and in the query."""
    parsed = make_url(url)
    masked = parsed.update_query_dict({name: MASK for name in parsed.query if _is_password_parameter(name)})
    return masked.render_as_string(hide_password=True).replace(quote(MASK, safe=""), MASK)


def sqlite_file(url: URL) -> Path | None:
    """The file a SQLite URL opens (a relative path is from the working directory); None for a database
    in memory. With ``uri=true`` the URL holds a ``file:`` URI (file:/abs/path.db, file:///abs/path.db,
    file:relative.db, percent-escaped), whose path SQLite decodes: it is not a folder named ``file:``."""
    database = url.database or ""
    if asbool(url.query.get("uri", False)):
        if url.query.get("mode") == "memory":
            return None
        database = unquote(urlsplit(database).path)
    if database in ("", ":memory:"):
        return None
    return Path(database)


def sqlite_files(url: URL) -> list[tuple[Path, str]]:
    """The files of the SQLite database ``url`` opens, each with what it is: the database and what is kept beside
    it (SQLITE_SIDE_FILES); none for another backend or a database in memory."""
    database = sqlite_file(url) if url.get_backend_name() == "sqlite" else None
    if database is None:
        return []
    return [(database, "mentiondesk's database"),
            *((database.with_name(database.name + suffix), f"the {what} of mentiondesk's database")
              for suffix, what in SQLITE_SIDE_FILES.items())]


def _create_private_sqlite_file(url: URL, path: Path) -> None:
    """The database file made empty, for its owner alone (0600), before SQLite first opens it: SQLite gives the -wal,
    -shm and -journal files the database file's mode, and under the usual umask 022 all of them (posts, notes, the
    audit log, password hashes) were readable by every user of the machine. A file already there keeps its mode;
    one that cannot be made is left for SQLite to report, as before."""
    if asbool(url.query.get("uri", False)) and url.query.get("mode") in ("ro", "rw"):
        return  # SQLite makes no file in these modes, and neither does mentiondesk
    with contextlib.suppress(OSError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def version_table_schema(connection: Connection) -> str | None:
    """The schema whose alembic_version holds this install's revision: on PostgreSQL current_schema(), where the
    migrations make its tables, and None (the only one) on SQLite. Left to the search_path, alembic read the
    revision of whichever schema on it has an alembic_version: an install whose path also holds another install's
    schema (or another alembic app's, in public) took that one's revision, and used its tables or refused to
    start ("upgrade mentiondesk")."""
    return connection.execute(_PG_CURRENT_SCHEMA).scalar_one() if connection.dialect.name == "postgresql" else None


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
        # SQLite's LIKE and lower() fold ASCII only; the queue's search folds any script with this.
        dbapi_connection.create_function("search_fold", 1, lambda value: None if value is None else search_fold(value),
                                         deterministic=True)

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # A deferred transaction that later writes fails at once with "database is locked" when
        # another writer holds the lock; BEGIN IMMEDIATE waits for busy_timeout instead.
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("sqlite_immediate") else "BEGIN")


def _configure_postgresql(engine: Engine) -> None:
    @event.listens_for(engine, "connect", insert=True)
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # psycopg returns timestamps in the session's zone, the server's by default: 9999-12-31 23:00 UTC
        # read in Berlin is year 10000, which Python cannot hold. UTCDateTime converts to UTC anyway.
        cursor = dbapi_connection.cursor()
        cursor.execute("SET TIME ZONE 'UTC'")
        # psycopg prepares a statement run five times, and PostgreSQL may then plan it for no needle in particular:
        # the queue's search for two letters matching nothing read every entry of the trigram indexes (76 → 215 ms
        # at 100k rows once it also searched author names). A plan for each needle costs a planning per search.
        cursor.execute("SET plan_cache_mode = force_custom_plan")
        cursor.close()
        dbapi_connection.commit()  # a SET rolled back is undone, and the pool rolls back each connection it gets back


class Database:
    """An engine plus session factories. ``write()`` is the one way to change data."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.is_sqlite = engine.dialect.name == "sqlite"
        self._read = sessionmaker(engine, expire_on_commit=False)
        self._write_engine = engine.execution_options(sqlite_immediate=True) if self.is_sqlite else engine
        self._write = sessionmaker(self._write_engine, expire_on_commit=False)
        self._search_case: tuple[str | None] | None = None  # (search_case_warning's answer,) once asked

    @classmethod
    def open(cls, url: str, *, key: str = "database.url", **engine_options: Any) -> "Database":
        """The database at ``url``; a URL mentiondesk cannot use is a ConfigError naming ``key``, the setting it
        came from (MENTIONDESK_DATABASE_URL where that was set: the message blamed database.url)."""
        parsed = parse_database_url(url, key)
        if parsed.get_backend_name() not in SUPPORTED_BACKENDS:
            # Ingest's upserts and the migrations' search indexes are written for these two.
            raise ConfigError(f"{key}: mentiondesk runs on SQLite or PostgreSQL, not {parsed.get_backend_name()!r} "
                              "(sqlite:///path/to/file.db or postgresql+psycopg://user@host/db)")
        if parsed.get_backend_name() == "sqlite" and (path := sqlite_file(parsed)) is not None:
            make_private_folder(path.expanduser().parent)
            _create_private_sqlite_file(parsed, path)
        try:
            engine = create_engine(parsed, pool_pre_ping=True, **engine_options)
        except (NoSuchModuleError, ImportError) as exc:
            raise ConfigError(
                f"{key}: no driver for {parsed.drivername!r} ({exc.__class__.__name__}); "
                "for PostgreSQL install mentiondesk[postgres] and use postgresql+psycopg://"
            ) from None
        if engine.dialect.name == "sqlite":
            _configure_sqlite(engine)
        else:
            _configure_postgresql(engine)
        return cls(engine)

    @property
    def display_url(self) -> str:
        return displayable_url(self.engine.url)

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

    def upgrade(self, revision: str = "head") -> None:
        """Migrate the schema to ``revision`` (default: the newest), all in one transaction.

        On SQLite that transaction takes the write lock before it reads the schema's revision: of two
        processes starting together (a worker and the dashboard), the second waits for the first and
        then finds the schema migrated, where a read that turned into a write failed at once with
        "database is locked". On PostgreSQL an advisory lock does the same: without it both ran the
        migrations, and the second failed ("column … already exists").
        """
        self._warn_once_if_search_folds_ascii_only()
        scripts = _migration_scripts()
        target = scripts.get_revision(revision).revision
        if self.current_revision() == target:
            return  # the usual start: no write lock needed
        with self._write_engine.connect() as connection, self._foreign_keys_off(connection), connection.begin():
            if not self.is_sqlite:
                connection.execute(_TAKE_PG_MIGRATION_LOCK)
            if self._known_revision(connection, scripts) == target:
                return  # another process migrated it while this one waited for the lock
            broken_before = self._broken_links(connection)
            cfg = _alembic_config()
            cfg.attributes["connection"] = connection
            try:
                command.upgrade(cfg, revision)
            except CommandError as exc:  # e.g. an older mentiondesk, which takes no lock, migrating it meanwhile
                raise MigrationFailed(f"migrating {self.display_url} to schema {target} failed: {exc}; "
                                      "nothing was changed") from None
            self._check_foreign_keys(connection, target, broken_before)

    @contextmanager
    def _foreign_keys_off(self, connection: Connection) -> Iterator[None]:
        """On SQLite, foreign keys off while migrating.

        A batch migration (e.g. 0011's, to add a foreign key) rebuilds a table: copy, DROP, rename.
        With foreign keys on, that DROP first deletes every row, and the deletes cascade: upgrading
        to 0011 emptied incident_mentions. The pragma does nothing inside a transaction, so it is
        set on the driver's connection before SQLAlchemy begins one, and set back after it ends.
        """
        if not self.is_sqlite:
            yield
            return
        driver_connection = connection.connection.driver_connection
        driver_connection.execute("PRAGMA foreign_keys = OFF")
        try:
            yield
        finally:
            driver_connection.execute("PRAGMA foreign_keys = ON")

    def _broken_links(self, connection: Connection) -> Counter[str]:
        """On SQLite, how many rows point at a row that does not exist, per "table → parent table"; PostgreSQL
        enforces its foreign keys, also while migrating."""
        if not self.is_sqlite:
            return Counter()
        return Counter(f"{row[0]} → {row[2]}" for row in connection.exec_driver_sql("PRAGMA foreign_key_check"))

    def _check_foreign_keys(self, connection: Connection, target: str, broken_before: Counter[str]) -> None:
        # With foreign keys off (above), nothing stops a migration from leaving rows that point at
        # nothing; raising here rolls the whole upgrade back. Rows broken before (a mention deleted with the
        # sqlite3 shell, where foreign keys are off, leaves its tags) are the data's, not the migration's:
        # counted per table, they are reported and the upgrade goes on.
        broken_by_migration = self._broken_links(connection) - broken_before
        if broken_by_migration:
            tables = ", ".join(sorted(broken_by_migration))
            raise MigrationFailed(f"migrating {self.display_url} to schema {target} would leave "
                                  f"{broken_by_migration.total()} row(s) pointing at rows that do not exist "
                                  f"({tables}); nothing was changed")
        if broken_before:
            tables = ", ".join(f"{table}: {count}" for table, count in sorted(broken_before.items()))
            log.warning("database %s has row(s) pointing at rows that do not exist (%s), from before this upgrade; "
                        "`PRAGMA foreign_key_check;` in the sqlite3 shell lists them (table, rowid, parent table)",
                        self.display_url, tables)

    def _known_revision(self, connection: Connection, scripts: ScriptDirectory) -> str | None:
        """The schema's revision; one this code has no migration for was made by a newer mentiondesk."""
        current = self._revision(connection)
        if current is not None:
            try:
                scripts.get_revision(current)
            except CommandError:
                raise SchemaTooNew(f"database {self.display_url} is at schema {current}, newer than this mentiondesk "
                                   f"({scripts.get_current_head()}): upgrade mentiondesk") from None
        return current

    def _revision(self, connection: Connection) -> str | None:
        schema = version_table_schema(connection)
        heads = MigrationContext.configure(connection, opts={"version_table_schema": schema}).get_current_heads()
        if len(heads) > 1:  # alembic's own error is a traceback telling a programmer to call another method
            raise SchemaRevisionUnreadable(
                f"database {self.display_url}: its alembic_version table holds {len(heads)} schema revisions "
                f"({', '.join(sorted(heads))}) where it holds one: keep only the row of the schema the tables are at")
        return heads[0] if heads else None

    def current_revision(self) -> str | None:
        with self.engine.connect() as connection:
            return self._revision(connection)

    def head_revision(self) -> str | None:
        return _migration_scripts().get_current_head()

    def search_case_warning(self) -> str | None:
        """Why this database falls short of text in any script: an encoding other than UTF8 cannot store most
        of them, and a C or POSIX LC_CTYPE makes search ignore case for a-z only, where the README promises any
        case in any script. None where neither (always on SQLite). Asked of the server once."""
        if self._search_case is None:
            self._search_case = (None if self.is_sqlite else self._ask_search_case(),)
        return self._search_case[0]

    def _ask_search_case(self) -> str | None:
        with self.engine.connect() as connection:
            encoding, ctype = connection.execute(_PG_ENCODING_AND_CTYPE).one()
            if encoding != "UTF8":
                return (f"database {self.display_url}: its encoding is {encoding}, which holds few scripts: a "
                        f"mention in any other cannot be stored; {_MOVE_TO_UTF8}")
            if connection.execute(_PG_SEARCH_FOLDS_ANY_SCRIPT).scalar_one():
                return None
        return (f"database {self.display_url}: its LC_CTYPE is {ctype!r}, so search ignores case for a-z only "
                f"(\"café\" does not find \"CAFÉ\"); for any script, {_MOVE_TO_UTF8}")

    def _warn_once_if_search_folds_ascii_only(self) -> None:
        # Warned, not refused: search still works, and moving the data is the operator's to plan.
        asked_before = self._search_case is not None
        if (warning := self.search_case_warning()) is not None and not asked_before:
            log.warning("%s", warning)

    def check_schema(self) -> None:
        self._warn_once_if_search_folds_ascii_only()
        scripts = _migration_scripts()
        with self.engine.connect() as connection:
            current = self._known_revision(connection, scripts)
        head = scripts.get_current_head()
        if current != head:
            raise SchemaOutOfDate(
                f"database {self.display_url} is at schema {current or 'empty'}, expected {head}; "
                "run `mentiondesk db upgrade`"
            )

    def dispose(self) -> None:
        self.engine.dispose()
