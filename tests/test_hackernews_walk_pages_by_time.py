"""A Hacker News walk pages by time (``created_at_i<=`` the oldest second read), so it reads every hit: past
Algolia's 1000-hit pagination limit whatever the page size, and when a hit leaves the index mid-walk."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from connectors.base import Query
from connectors.emulators import RunningEmulators, hackernews_api
from connectors.hackernews import HackerNewsConnector, HackerNewsSettings
from tests.emulator_fixtures import drain
from tests.more_sources_fixtures import FAST_RETRIES

QUERY = Query(key="orbisto", brand="Orbisto", keywords=("Orbisto",))


def hn(running: RunningEmulators, **settings: object) -> HackerNewsConnector:
    return HackerNewsConnector(HackerNewsSettings(api_base_url=running.hackernews_url, **{**FAST_RETRIES, **settings}))


def comments(running: RunningEmulators, count: int, seconds_apart: int) -> list[str]:
    """``count`` new comments, oldest first, all after the last walk (the poller was away a while)."""
    start = datetime.now(timezone.utc) - timedelta(seconds=seconds_apart * count + 10)
    return [running.hackernews.add_comment(f"Orbisto comment {n}",
                                           created_at=start + timedelta(seconds=seconds_apart * n))
            for n in range(count)]


def test_a_page_size_that_does_not_divide_the_pagination_limit_loses_nothing(
        emulators: RunningEmulators, monkeypatch: pytest.MonkeyPatch) -> None:
    # A limit of 10 hits and pages of 3, as Algolia's 1000 and page_size 300: 4 pages reach the limit, and 4 × 3
    # is 12, as many hits as match (the newest one of the last walk, with no overlap here, and 11 new ones).
    monkeypatch.setattr(hackernews_api, "PAGINATION_LIMIT", 10)
    connector = hn(emulators, page_size=3, first_run_pages=50, overlap_seconds=0)
    _, cursor, _ = drain(connector, QUERY, None)
    new = comments(emulators, 11, seconds_apart=1)
    read, cursor, _ = drain(connector, QUERY, cursor)
    later, _, _ = drain(connector, QUERY, cursor)
    assert [m.external_id for m in read] == new[::-1]
    assert later == []


def test_a_comment_deleted_mid_walk_does_not_hide_its_neighbour(emulators: RunningEmulators) -> None:
    connector = hn(emulators, page_size=10, first_run_pages=50)
    _, cursor, _ = drain(connector, QUERY, None)
    new = comments(emulators, 25, seconds_apart=5)
    first = connector.fetch(QUERY, cursor)
    assert first.has_more and len(first.mentions) == 10
    deleted = first.mentions[3].external_id
    emulators.hackernews.delete_item(deleted)  # its author deleted it: Algolia drops it from the index
    rest, cursor, _ = drain(connector, QUERY, first.next_cursor)
    later, _, _ = drain(connector, QUERY, cursor)
    assert [m.external_id for m in first.mentions + rest] == new[::-1]
    assert later == []


def test_more_hits_in_one_second_than_a_page_are_each_read_once(emulators: RunningEmulators) -> None:
    connector = hn(emulators, page_size=4, first_run_pages=50)
    _, cursor, _ = drain(connector, QUERY, None)
    at = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(seconds=30)
    newer = comments(emulators, 3, seconds_apart=1)  # the last 13 seconds
    same_second = [emulators.hackernews.add_comment(f"Orbisto same second {n}",
                                                   created_at=at + timedelta(microseconds=n))
                   for n in range(10)]
    read, cursor, _ = drain(connector, QUERY, cursor)
    assert [m.external_id for m in read] == newer[::-1] + same_second[::-1]
    assert drain(connector, QUERY, cursor)[0] == []
    # The walk is over: only the ids within the overlap of its newest second are kept.
    newest = max(int(m.created_at.timestamp()) for m in read)
    assert all(second >= newest - 300 for second in json.loads(cursor or "{}")["seen"].values())
