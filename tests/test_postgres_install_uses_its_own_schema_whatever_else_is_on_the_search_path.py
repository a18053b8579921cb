"""Installs sharing one PostgreSQL database, each in its own schema with a shared schema (as public usually is)
also on its search_path: each reads the schema revision of its own schema, where its tables are made, not the
revision of whichever schema on the path has an alembic_version."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from monitor.models import Brand
from monitor.storage import Database
from tests.conftest import POSTGRES_ENV
from tests.scratch_postgres import scratch_schema


def _schema(url: str) -> str:
    return make_url(url).query["options"].removeprefix("-csearch_path=")


def _with_search_path(url: str, *schemas: str) -> str:
    return make_url(url).update_query_dict({"options": f"-csearch_path={','.join(schemas)}"}).render_as_string(
        hide_password=False)


@pytest.fixture
def shared_schema(postgres_url: str) -> Iterator[str]:
    """A second scratch schema, beside postgres_url's (which skips the test without a server)."""
    with scratch_schema(os.environ[POSTGRES_ENV]) as url:
        yield _schema(url)


def _brand_keys(db: Database) -> list[str]:
    with db.read() as session:
        return list(session.scalars(sa.select(Brand.key).order_by(Brand.key)))


def test_an_install_with_another_install_on_its_path_gets_its_own_tables(postgres_url: str,
                                                                          shared_schema: str) -> None:
    # B saw A's revision, made no tables and wrote into A's.
    other = Database.open(_with_search_path(postgres_url, shared_schema))
    other.upgrade()
    with other.write() as session:
        session.add(Brand(key="others", name="Other install's brand"))
    own = Database.open(_with_search_path(postgres_url, _schema(postgres_url), shared_schema))
    assert own.current_revision() is None
    own.upgrade()
    assert own.current_revision() == own.head_revision()
    assert _brand_keys(own) == []
    with own.write() as session:
        session.add(Brand(key="ours", name="Our brand"))
    assert _brand_keys(own) == ["ours"] and _brand_keys(other) == ["others"]
    for db in (own, other):
        db.dispose()


def test_another_alembic_apps_revision_on_the_path_does_not_stop_the_first_upgrade(postgres_url: str,
                                                                                   shared_schema: str) -> None:
    # Its revision was taken for mentiondesk's: "is at schema ae1038e9c5f2, newer than this mentiondesk: upgrade
    # mentiondesk", and `db upgrade` could never run.
    db = Database.open(_with_search_path(postgres_url, _schema(postgres_url), shared_schema))
    with db.engine.begin() as connection:
        connection.execute(sa.text(f"CREATE TABLE {shared_schema}.alembic_version "
                                   "(version_num varchar(32) PRIMARY KEY)"))
        connection.execute(sa.text(f"INSERT INTO {shared_schema}.alembic_version VALUES ('ae1038e9c5f2')"))
    db.upgrade()
    db.check_schema()
    assert db.current_revision() == db.head_revision()
    with db.engine.connect() as connection:
        assert connection.execute(sa.text(f"SELECT version_num FROM {shared_schema}.alembic_version")).all() == [
            ("ae1038e9c5f2",)]
    db.dispose()
