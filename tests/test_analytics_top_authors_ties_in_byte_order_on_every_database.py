"""Top authors tied on reach and mentions are ranked by handle, byte for byte ("Bob" before "alice"), on SQLite and
on PostgreSQL whatever the database's collation: under en-US, PostgreSQL put "alice" first, so a different ten of
the tied authors made the list than on SQLite, or than when every author's follower count was known."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest

from monitor import analytics
from monitor.models import Mention
from monitor.storage import Database
from tests.conftest import POSTGRES_ENV, POSTGRES_SKIP
from tests.scratch_postgres import scratch_database

HANDLES = ["alice", "Bob", "carol", "Dave", "erin", "Frank", "grace", "Heidi", "ivan", "Judy", "kim", "Leo"]
BYTE_ORDER_TOP_TEN = ["Bob", "Dave", "Frank", "Heidi", "Judy", "Leo", "alice", "carol", "erin", "grace"]
AT = datetime(2026, 11, 18, 10, tzinfo=timezone.utc)


@pytest.fixture
def en_us_postgres_url() -> Iterator[str]:
    """A new database on the test server whose collation is ICU en-US (a typical en_US.UTF-8 server's: the test
    server's own default is C.UTF-8, which orders as bytes), dropped afterwards."""
    base = os.environ.get(POSTGRES_ENV)
    if not base:
        pytest.skip(POSTGRES_SKIP)
    with scratch_database(base, "LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'", "t_en_us") as url:
        yield url


@pytest.fixture(params=["sqlite", "postgres en-US"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'mentiondesk.db'}"
    return request.getfixturevalue("en_us_postgres_url")


# Unknown reach (RSS, Hacker News) is ranked by SQL; known and equal reach is ranked in Python.
@pytest.mark.parametrize("followers", [None, 500])
def test_tied_authors_are_ranked_by_handle_byte_for_byte(url: str, followers: int | None) -> None:
    db = Database.open(url)
    try:
        db.upgrade()
        with db.write() as session:
            for i, handle in enumerate(HANDLES):
                session.add(Mention(platform="rss", external_id=f"e{i}", text="t", created_at=AT, status="new",
                                    author_handle=handle, author_followers=followers))
        with db.read() as session:
            top = analytics.top_authors(session, analytics.scope(datetime(2026, 11, 1, tzinfo=timezone.utc),
                                                                 datetime(2026, 12, 1, tzinfo=timezone.utc)))
    finally:
        db.dispose()
    assert [a.handle for a in top] == BYTE_ORDER_TOP_TEN
