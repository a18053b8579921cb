"""A one- or two-character search looks at the newest SHORT_TEXT_WINDOW mentions, counted in rows: PostgreSQL's
id sequence skips a value for every re-fetched post the insert leaves out, and deleting a mention leaves a gap."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from monitor import queue
from monitor.ingest import store_mentions
from monitor.models import Mention
from monitor.queue import QueueFilters
from monitor.storage import Database
from tests.test_dashboard_fixtures import NOW


def _post(external_id: str, text: str) -> dict[str, Any]:
    return dict(brand_id=None, query_id=None, platform="rss", external_id=external_id, url=None,
                author_handle="someone", author_name=None, author_followers=None, text=text, lang="en",
                created_at=NOW - timedelta(minutes=1), fetched_at=NOW, raw={}, thread_id=None, parent_id=None,
                replyable=False, status="new")


def _store(db: Database, *posts: dict[str, Any]) -> list[int]:
    with db.write() as session:
        return store_mentions(session, posts)


def _found(db: Database, needle: str) -> list[int]:
    with db.read() as session:
        return sorted(m.id for m in queue.fetch_page(session, QueueFilters(text=needle), limit=50).items)


def test_re_fetched_posts_do_not_shrink_the_short_search_window(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(queue, "SHORT_TEXT_WINDOW", 3)
    _store(db, _post("oldest", "ok then"))
    feed = [_post("a", "ok a"), _post("b", "ok b")]
    newer = _store(db, *feed)
    for _ in range(5):  # polls reading the same feed again: nothing new is stored
        assert _store(db, *feed) == []
    newest = _store(db, _post("c", "ok c"))
    assert _found(db, "ok") == newer + newest  # the newest three mentions, not the newest three ids


def test_a_deleted_mention_does_not_shrink_the_short_search_window(db: Database,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(queue, "SHORT_TEXT_WINDOW", 3)
    ids = _store(db, *(_post(str(n), f"ok {n}") for n in range(4)))
    with db.write() as session:
        session.delete(session.get(Mention, ids[2]))
    assert _found(db, "ok") == [ids[0], ids[1], ids[3]]  # the three that are left are the newest three
