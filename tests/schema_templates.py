"""Empty databases at the newest schema, copied from one migrated once per test session.

Migrating each test's database was a third of the suite's CPU time (all migrations: 0.12 s on SQLite, 0.36 s on
PostgreSQL, for each of ~1,000 databases). The copy is the migrated database itself: a SQLite file copied as it
is, and on PostgreSQL what pg_dump writes of the migrated schema, replayed into the test's own schema. The
migrations keep their own tests, which migrate databases of their own (test_migrations_*.py)."""

from __future__ import annotations

import shutil
import subprocess
import warnings
from dataclasses import dataclass
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

from monitor.storage import Database
from tests.scratch_postgres import scratch_schema


@dataclass
class _Templates:
    folder: Path | None
    postgres_base: str | None
    sqlite_file: Path | None = None
    postgres_dump: tuple[str, str] | None = None  # (the template schema's name, its pg_dump)
    postgres_dump_tried: bool = False


_templates = _Templates(None, None)  # until conftest's session fixture calls use_folder


def use_folder(folder: Path, postgres_base: str | None) -> None:
    """Where this test session keeps its templates, and the PostgreSQL server its tests use (None: none)."""
    global _templates
    _templates = _Templates(folder, postgres_base)


def new_database(url: str) -> Database:
    """The empty database at `url` (a SQLite file not there yet, or an empty PostgreSQL schema), opened, at the
    newest schema."""
    if url.startswith("sqlite:///"):
        _fill_sqlite(Path(url.removeprefix("sqlite:///")))
    elif (template := _postgres_template()) is not None:
        _fill_postgres(url, *template)
    else:
        _migrated(url)
    return Database.open(url)


def _migrated(url: str) -> None:
    database = Database.open(url)
    database.upgrade()
    database.dispose()


def _fill_sqlite(path: Path) -> None:
    if _templates.sqlite_file is None:
        assert _templates.folder is not None, "conftest's session fixture gives the templates a folder"
        template = _templates.folder / "template.db"
        _migrated(f"sqlite:///{template}")  # its last connection closed: the WAL is in the file, and gone
        _templates.sqlite_file = template
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(_templates.sqlite_file, path)
    path.chmod(0o600)  # as mentiondesk makes its database files


def _fill_postgres(url: str, schema: str, dump: str) -> None:
    with psycopg.connect(_libpq_url(url)) as conn:  # one transaction; the dump sets its own search_path
        test_schema = conn.execute("SELECT current_schema()").fetchone()[0]
        conn.execute(dump.replace(schema, test_schema))


def _postgres_template() -> tuple[str, str] | None:
    """The template schema's name and its pg_dump; None where there is no pg_dump that reads this server (none
    installed, or older than the server): each database is migrated then, as before the templates."""
    if not _templates.postgres_dump_tried and shutil.which("pg_dump") is not None:
        _templates.postgres_dump_tried = True
        assert _templates.postgres_base is not None, "PostgreSQL tests run with a server"
        with scratch_schema(_templates.postgres_base, prefix="template") as template_url:
            _migrated(template_url)
            with psycopg.connect(_libpq_url(template_url)) as conn:
                schema = conn.execute("SELECT current_schema()").fetchone()[0]
            dumped = subprocess.run(["pg_dump", "--schema", schema, "--inserts", "--no-owner", "--no-privileges",
                                     "--dbname", _libpq_url(template_url, search_path=False)],
                                    capture_output=True, text=True)
        if dumped.returncode != 0:
            warnings.warn(f"pg_dump failed, so each PostgreSQL test database is migrated: {dumped.stderr.strip()}")
        else:
            # psql's own commands (\restrict) are not SQL, and the test's schema is there already.
            statements = [line for line in dumped.stdout.splitlines()
                          if not line.startswith("\\") and line != f"CREATE SCHEMA {schema};"]
            _templates.postgres_dump = (schema, "\n".join(statements))
    return _templates.postgres_dump


def _libpq_url(url: str, search_path: bool = True) -> str:
    """`url` as libpq reads it (no SQLAlchemy driver name); pg_dump takes no search_path option."""
    parsed = make_url(url).set(drivername="postgresql")
    return (parsed if search_path else parsed.difference_update_query(["options"])).render_as_string(
        hide_password=False)
