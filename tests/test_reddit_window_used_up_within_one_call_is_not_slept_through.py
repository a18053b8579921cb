"""Reddit: a rate-limit window that runs out between two requests of one connector call (marking many inbox
mentions read, 25 a request; prawcore's own retry of a 5xx) raises RateLimited at once. Until 2026-12-07
prawcore slept until the window reset (up to 10 minutes on Reddit), blocking the poll thread; and the
mentions left unmarked stayed unread. Now they are marked on a later poll, once the window has reset."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from connectors.base import Query, RateLimited
from connectors.emulators import DEMO_BRAND, DEMO_REDDIT_USERNAME, start_emulators
from connectors.emulators.server import RateWindows
from tests.emulator_fixtures import BACKLOG_END, REDDIT_QUERY, reddit_connector

INBOX_ONLY = {"page_size": 100, "search_subreddits": [], "comment_subreddits": []}


def _raised_within(call: Callable[[], object], seconds: float) -> BaseException:
    """What ``call()`` raised, failing if it ran longer than ``seconds`` (a thread: a sleep can be long)."""
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            call()
            outcome.append(None)
        except Exception as exc:
            outcome.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert outcome, f"still running after {seconds} s: sleeping until the rate-limit window resets"
    assert outcome[0] is not None, "returned instead of raising RateLimited"
    return outcome[0]


def test_a_5xx_that_uses_up_the_window_is_not_retried_after_a_sleep() -> None:
    query = Query(key="o", brand=DEMO_BRAND, keywords=(DEMO_BRAND,))
    with start_emulators(seed=7, backlog=20, backlog_end=BACKLOG_END, reddit_rate_limit=1) as running:
        connector = reddit_connector(running, search_subreddits=["all"], inbox_mentions=False, max_retries=0)
        running.reddit.inject("server_error", status=503, times=1, path_contains="/search")
        error = _raised_within(lambda: connector.fetch(query, None), 15)
        assert isinstance(error, RateLimited)
        assert 500 < error.retry_after <= 600  # the window's reset: the poller backs off until then


def test_mentions_a_used_up_window_left_unread_are_marked_read_after_it_resets() -> None:
    with start_emulators(seed=7, backlog=0, backlog_end=BACKLOG_END) as running:
        # A fetch and two of the three mark_read POSTs; after the reset, a fetch of two requests and the last.
        running.reddit.windows = RateWindows(limit=3, window_seconds=6)
        for i in range(60):
            running.reddit.add_comment(f"u/{DEMO_REDDIT_USERNAME} order {i} never arrived")
        connector = reddit_connector(running, **INBOX_ONLY)
        page = connector.fetch(REDDIT_QUERY, None)
        assert len(page.mentions) == len(page.ack or []) == 60
        started = time.monotonic()
        with pytest.raises(RateLimited) as caught:
            connector.acknowledge(page.ack)
        assert time.monotonic() - started < 2, "slept until the window reset"
        assert len(running.reddit.unread_mentions()) == 10  # 50 were marked before the window ran out

        time.sleep(caught.value.retry_after + 1)
        later = connector.fetch(REDDIT_QUERY, page.next_cursor)
        assert later.mentions == []
        connector.acknowledge(later.ack)
        assert running.reddit.unread_mentions() == []

