"""Two installs in two schemas of one new PostgreSQL database, upgraded at the same moment (two deploy jobs):
each migration lock is per schema, but the pg_trgm extension they both make is one per database."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from monitor.storage import Database
from tests.conftest import POSTGRES_ENV, POSTGRES_SKIP
from tests.scratch_postgres import scratch_database
from tests.test_db_upgrade_twice_at_once_on_postgres import _until, _upgrade

SCHEMAS = ("install_one", "install_two")


@pytest.fixture
def new_database_url() -> Iterator[str]:
    """A new database, so without pg_trgm yet, holding the two installs' empty schemas."""
    base = os.environ.get(POSTGRES_ENV)
    if not base:
        pytest.skip(POSTGRES_SKIP)
    with scratch_database(base, "ENCODING 'UTF8' LOCALE 'C.UTF-8'", "t_two_schemas") as url:
        admin = sa.create_engine(url)
        with admin.begin() as connection:
            for schema in SCHEMAS:
                connection.execute(sa.text(f"CREATE SCHEMA {schema}"))
        admin.dispose()
        yield url


def _waiting_for_a_lock(engine: sa.Engine) -> int:
    """How many sessions of the database wait for a lock; asked afresh, as a transaction sees pg_stat_activity once."""
    with engine.connect() as watcher:
        return watcher.execute(sa.text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                       "AND wait_event_type = 'Lock'")).scalar_one()


def test_both_upgrades_make_their_schema_where_one_failed_on_the_extension(new_database_url: str) -> None:
    # One failed with an IntegrityError on pg_extension_name_index: both ran CREATE EXTENSION pg_trgm at once.
    urls = [make_url(new_database_url).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
        hide_password=False) for schema in SCHEMAS]
    context = multiprocessing.get_context("fork")  # the children start from this process: quick
    results = context.Queue()
    holder_engine = sa.create_engine(new_database_url)
    with holder_engine.connect() as holder:
        # Held until both upgrades wait, so that both reach the extension at the same moment: making it writes
        # pg_extension, which this lock keeps anyone from doing meanwhile.
        holder.execute(sa.text("LOCK TABLE pg_catalog.pg_extension IN SHARE MODE"))
        processes = [context.Process(target=_upgrade, args=(url, results)) for url in urls]
        for process in processes:
            process.start()
        _until(lambda: _waiting_for_a_lock(holder_engine) == 2)
        holder.rollback()
    outcomes = sorted(results.get() for _ in processes)
    for process in processes:
        process.join()
    holder_engine.dispose()
    db = Database.open(urls[0])
    assert outcomes == [f"at {db.head_revision()}"] * 2
    db.dispose()
