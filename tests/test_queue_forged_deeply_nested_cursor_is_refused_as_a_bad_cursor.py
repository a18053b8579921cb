"""A page cursor comes back from the browser: a forged one nested thousands deep made the queue raise RecursionError
(an error page) where any other cursor it did not make is refused as a BadCursor."""

from __future__ import annotations

import base64

import pytest

from monitor import queue
from monitor.queue import BadCursor, QueueFilters, Sort
from monitor.storage import Database
from tests.test_dashboard_fixtures import add_mention


def test_a_forged_deeply_nested_cursor_is_refused_as_a_bad_cursor(sqlite_db: Database) -> None:
    first, second = add_mention(sqlite_db, priority=90.0), add_mention(sqlite_db, priority=10.0)
    forged = base64.urlsafe_b64encode(b"[" * 100_000 + b"]" * 100_000).decode()
    with sqlite_db.read() as session:
        page = queue.fetch_page(session, QueueFilters(), Sort.URGENT, limit=1)
        assert [m.id for m in page.items] == [first] and page.next_cursor is not None
        following = queue.fetch_page(session, QueueFilters(), Sort.URGENT, after=page.next_cursor, limit=1)
        assert [m.id for m in following.items] == [second]  # the cursors the queue makes still work
        with pytest.raises(BadCursor, match="not a queue cursor for the urgent order"):
            queue.fetch_page(session, QueueFilters(), Sort.URGENT, after=forged)
