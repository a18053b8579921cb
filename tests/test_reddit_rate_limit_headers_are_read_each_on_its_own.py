"""Reddit: a readable ``x-ratelimit-reset`` (and ``x-ratelimit-remaining``) is honoured although another of
the three rate-limit headers is missing or unreadable. Until 2026-12-07 one odd header threw away all three:
a 429 saying ``x-ratelimit-reset: 400`` backed off for the 60 s default, and an answer saying nothing remains
until then did not stop the next request. A negative ``x-ratelimit-used`` failed the poll (prawcore divided
by zero)."""

from __future__ import annotations

import pytest

from connectors.base import Query, RateLimited
from connectors.emulators import DEMO_BRAND, start_emulators
from tests.emulator_fixtures import BACKLOG_END, reddit_connector
from tests.test_connector_rate_limits import set_headers

QUERY = Query(key="orbisto", brand=DEMO_BRAND, keywords=(DEMO_BRAND,))
RESET = 400
ODD = pytest.mark.parametrize("odd", [{"x-ratelimit-used": None}, {"x-ratelimit-used": "many"}],
                              ids=["used missing", "used unreadable"])


@ODD
def test_a_429_backs_off_until_its_reset(odd: dict[str, str | None]) -> None:
    with start_emulators(seed=7, backlog=30, backlog_end=BACKLOG_END) as running:
        connector = reddit_connector(running, comment_subreddits=[], inbox_mentions=False)
        set_headers(running.reddit_server, odd, status=429)
        running.reddit.inject("rate_limit", times=1, retry_after=RESET, path_contains="/search")
        with pytest.raises(RateLimited) as caught:
            connector.fetch(QUERY, None)
        assert RESET - 5 < caught.value.retry_after <= RESET


@ODD
def test_an_answer_saying_nothing_remains_stops_the_next_request(odd: dict[str, str | None]) -> None:
    with start_emulators(seed=7, backlog=30, backlog_end=BACKLOG_END) as running:
        connector = reddit_connector(running, comment_subreddits=[], inbox_mentions=False)
        cursor = connector.fetch(QUERY, None).next_cursor  # logged in first: the token's answer says nothing
        set_headers(running.reddit_server, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(RESET), **odd})
        running.reddit.add_submission(f"{DEMO_BRAND} keeps crashing")  # so one request reads the next page
        cursor = connector.fetch(QUERY, cursor).next_cursor
        served = running.reddit.requests_served
        with pytest.raises(RateLimited) as caught:
            connector.fetch(QUERY, cursor)
        assert RESET - 5 < caught.value.retry_after <= RESET
        assert running.reddit.requests_served == served, "nothing is sent while the window is used up"


def test_a_negative_used_count_does_not_break_the_poll() -> None:
    with start_emulators(seed=7, backlog=30, backlog_end=BACKLOG_END) as running:
        connector = reddit_connector(running, comment_subreddits=[], inbox_mentions=False)
        set_headers(running.reddit_server, {"x-ratelimit-remaining": "1", "x-ratelimit-used": "-1"})
        first = connector.fetch(QUERY, None)
        assert first.mentions
        connector.fetch(QUERY, first.next_cursor)
