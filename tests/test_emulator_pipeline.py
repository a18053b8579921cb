"""poll → ingest → store with both real connectors against their emulators, on SQLite."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from connectors.emulators import RunningEmulators
from monitor import models
from monitor.models import utcnow
from monitor.poller import poll_once
from monitor.storage import Database
from tests.emulator_fixtures import pipeline_config, stored_ids


def _reports(db: Database, running: RunningEmulators, **overrides: dict) -> dict[str, object]:
    return {r.connector: r for r in poll_once(db, pipeline_config(running, db, **overrides))}


def test_polls_store_each_mention_once_and_only_new_ones_later(emulators: RunningEmulators, sqlite_db: Database) -> None:
    first = _reports(sqlite_db, emulators)
    assert all(r.ok for r in first.values()), first
    x_ids, reddit_ids = stored_ids(sqlite_db, "x"), stored_ids(sqlite_db, "reddit")
    assert len(x_ids) > 20 and len(reddit_ids) > 5
    assert all(r.stored == 0 for r in _reports(sqlite_db, emulators).values())  # restart: nothing twice

    new_x = set(emulators.x.add_posts(10))
    new_mention = emulators.reddit.add_comment("u/orbisto_support my card was charged twice", subreddit="india")
    later = _reports(sqlite_db, emulators)
    assert stored_ids(sqlite_db, "x") - x_ids <= new_x and later["x"].stored > 0
    assert new_mention in stored_ids(sqlite_db, "reddit") - reddit_ids
    assert new_mention not in emulators.reddit.unread_mentions()  # marked read once stored
    with sqlite_db.read() as session:
        replyable = session.scalars(select(models.Mention.replyable).where(models.Mention.platform == "x")).all()
    assert True in replyable and False in replyable


def _x_sources(db: Database) -> set[str]:
    with db.read() as session:
        raws = session.scalars(select(models.Mention.raw).where(models.Mention.platform == "x"))
        return {raw["source"] for raw in raws}


def test_malformed_json_fails_that_source_only_and_stores_nothing_from_its_page(emulators: RunningEmulators,
                                                                             sqlite_db: Database) -> None:
    emulators.x.inject("malformed_json", path_contains="/search/")
    reports = _reports(sqlite_db, emulators)
    assert not reports["x"].ok and "search: X answered search with malformed JSON" in (reports["x"].error or "")
    assert reports["reddit"].ok and stored_ids(sqlite_db, "reddit")
    assert _x_sources(sqlite_db) == {"mentions"}  # nothing from the search page; the mentions went on
    assert _reports(sqlite_db, emulators)["x"].ok and _x_sources(sqlite_db) == {"search", "mentions"}  # read again


def test_reddit_comments_missing_their_author_and_time_are_stored_without_them(emulators: RunningEmulators,
                                                                              sqlite_db: Database) -> None:
    emulators.reddit.inject("missing_fields", path_contains="/comments")
    reports = _reports(sqlite_db, emulators)
    assert reports["reddit"].ok and reports["x"].ok
    assert reports["reddit"].set_aside == 0 and stored_ids(sqlite_db, "reddit")


def test_429_backs_off_that_connector_while_the_other_keeps_polling(emulators: RunningEmulators, sqlite_db: Database) -> None:
    emulators.reddit.inject("rate_limit", retry_after=300)
    first = _reports(sqlite_db, emulators)
    assert "rate limited" in (first["reddit"].error or "") and first["x"].ok
    emulators.x.add_posts(3)
    second = _reports(sqlite_db, emulators)
    assert second["reddit"].skipped and "backing off" in second["reddit"].skipped
    assert second["x"].ok and second["x"].pages >= 1


def test_daily_read_cap_stops_x_polling(emulators: RunningEmulators, sqlite_db: Database,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    # Reads counted on a pinned day: UTC midnight passing after the first page started a fresh count.
    now = utcnow()
    monkeypatch.setattr("monitor.ingest.utcnow", lambda: now)
    first = _reports(sqlite_db, emulators, x={"daily_read_cap": 5})
    assert first["x"].ok and first["x"].pages == 1  # the first page already used up the cap
    emulators.x.add_posts(3)
    assert "daily read cap" in (_reports(sqlite_db, emulators, x={"daily_read_cap": 5})["x"].skipped or "")
