"""A Reddit source whose first poll finds nothing (a new product name nobody has posted about yet, a new
subreddit, a new brand account with an empty inbox) reads everything that comes after it. Until 2026-12-07
it kept no cursor, so every later poll was again a first poll that read only the newest page: a burst
bigger than a page between two polls was partly lost for good (and those u/ mentions stayed unread)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from connectors.base import Query
from connectors.emulators import DEMO_REDDIT_USERNAME, RunningEmulators, start_emulators
from tests.emulator_fixtures import BACKLOG_END, drain, reddit_connector

NEW_NAME = "Zyntaqua"
PAGE = 5
BURST = 12  # more than two pages


def _search(running: RunningEmulators) -> list[str]:
    return [running.reddit.add_submission(f"{NEW_NAME} launch thread {i}", "thoughts?") for i in range(BURST)]


def _comments(running: RunningEmulators) -> list[str]:
    thread = running.reddit.add_submission("Welcome to the new subreddit", subreddit=NEW_NAME.lower())
    return [running.reddit.add_comment(f"my {NEW_NAME} arrived, number {i}", parent=thread) for i in range(BURST)]


def _mentions(running: RunningEmulators) -> list[str]:
    return [running.reddit.add_comment(f"u/{DEMO_REDDIT_USERNAME} my order {i} is missing") for i in range(BURST)]


SOURCES: dict[str, tuple[dict[str, object], Callable[[RunningEmulators], list[str]]]] = {
    "search": ({"search_subreddits": ["all"], "inbox_mentions": False}, _search),
    "comments": ({"search_subreddits": [], "comment_subreddits": [NEW_NAME.lower()], "inbox_mentions": False},
                 _comments),
    "mentions": ({"search_subreddits": []}, _mentions),
}


@pytest.mark.parametrize("source", SOURCES)
def test_everything_after_an_empty_first_poll_is_read(source: str) -> None:
    settings, post_burst = SOURCES[source]
    query = Query(key="zy", brand=NEW_NAME, keywords=(NEW_NAME,), handle=DEMO_REDDIT_USERNAME)
    with start_emulators(seed=7, backlog=0, backlog_end=BACKLOG_END) as running:
        connector = reddit_connector(running, page_size=PAGE, **settings)
        first, cursor, _ = drain(connector, query, None)
        assert first == []
        posted = post_burst(running)
        read, cursor, _ = drain(connector, query, cursor)
        later, _, _ = drain(connector, query, cursor)
        assert sorted(m.external_id for m in read) == sorted(posted)
        assert later == []  # read once
        if source == "mentions":
            assert running.reddit.unread_mentions() == []
