"""X and Reddit rate limits whatever the headers say: no sleeping in the poll, no crash, no endless wait."""

from __future__ import annotations

import math
import time

import pytest

from connectors.base import DEFAULT_RETRY_AFTER_SECONDS, MAX_SETTING_SECONDS, ConnectorError, Query, RateLimited
from connectors.emulators import RunningEmulators
from connectors.emulators.server import EmulatorServer, Request, Response
from monitor import models
from monitor.poller import poll_once
from monitor.storage import Database
from tests.emulator_fixtures import pipeline_config, reddit_connector, x_connector
from tests.fault_tools import rewrite_answers

SEARCH_ONLY = Query(key="orbisto", brand="Orbisto", keywords=("Orbisto",))


def set_headers(server: EmulatorServer, headers: dict[str, str | None], status: int | None = None) -> None:
    """Set (None: remove) these headers in every answer of ``server``, or in those with that status."""
    def rewrite(request: Request, response: Response) -> Response:
        if status is None or response.status == status:
            for name, value in headers.items():
                if value is None:
                    response.headers.pop(name, None)
                else:
                    response.headers[name] = value
        return response

    rewrite_answers(server, rewrite)


@pytest.mark.parametrize(("asked", "expected"), [
    (math.inf, DEFAULT_RETRY_AFTER_SECONDS), (math.nan, DEFAULT_RETRY_AFTER_SECONDS),
    (-math.inf, DEFAULT_RETRY_AFTER_SECONDS), (1.8e12, MAX_SETTING_SECONDS), (-5, 0.0), (90, 90.0),
])
def test_rate_limited_waits_a_finite_bounded_time(asked: float, expected: float) -> None:
    assert RateLimited("wait", asked).retry_after == expected


def test_an_x_reset_in_milliseconds_backs_off_instead_of_killing_the_poll(
        sqlite_db: Database, emulators: RunningEmulators) -> None:
    set_headers(emulators.x_server, {"x-rate-limit-reset": str(int(time.time() * 1000))}, status=429)
    emulators.x.inject("rate_limit", times=100)
    config = pipeline_config(emulators, sqlite_db, x={"timeout_seconds": 10})
    [report] = poll_once(sqlite_db, config, only=["x"])
    assert "rate limited" in (report.error or "")
    with sqlite_db.read() as session:
        assert session.get(models.ConnectorStatus, "x").backoff_reason == "rate_limit"


def test_an_x_429_with_a_fractional_reset_is_rate_limited(emulators: RunningEmulators) -> None:
    # A whole second plus a half, so the header never names a moment later than 60 s from now.
    set_headers(emulators.x_server, {"x-rate-limit-reset": f"{int(time.time()) + 59.5}"}, status=429)
    emulators.x.inject("rate_limit", path_contains="/search/")
    with pytest.raises(RateLimited) as caught:
        x_connector(emulators).fetch(SEARCH_ONLY, None)
    assert 50 <= caught.value.retry_after <= 60


def test_an_x_window_said_to_reset_at_infinity_is_not_waited_for(emulators: RunningEmulators) -> None:
    connector = x_connector(emulators)
    set_headers(emulators.x_server, {"x-rate-limit-remaining": "0", "x-rate-limit-reset": "inf"})
    connector.fetch(SEARCH_ONLY, None)
    assert connector.fetch(SEARCH_ONLY, None).next_cursor  # asked X again instead of waiting forever


@pytest.mark.parametrize("platform", ["x", "reddit"])
def test_retry_after_is_never_slept_through_nor_a_429_resent(emulators: RunningEmulators, platform: str) -> None:
    if platform == "x":
        server, emulator, connector = emulators.x_server, emulators.x, x_connector(emulators)
    else:
        server, emulator, connector = emulators.reddit_server, emulators.reddit, reddit_connector(emulators)
    connector.fetch(SEARCH_ONLY, None)  # signed in
    set_headers(server, {"retry-after": "20"})
    emulator.inject("server_error", times=10, status=503, path_contains="/search")
    started = time.monotonic()
    with pytest.raises(ConnectorError):
        connector.fetch(SEARCH_ONLY, None)
    # prawcore's own retries of a 5xx pause up to 6 s in all; a Retry-After obeyed would be 20 s a retry.
    assert time.monotonic() - started < 10, "the poll slept through Retry-After"
    emulator.faults.clear()
    emulator.inject("rate_limit", times=10, retry_after=600, path_contains="/search")
    served = emulator.requests_served
    with pytest.raises(RateLimited):
        connector.fetch(SEARCH_ONLY, None)
    assert emulator.requests_served == served + 1, "a 429 was sent again"


@pytest.mark.parametrize("odd", [
    {"x-ratelimit-used": "3.0"}, {"x-ratelimit-reset": "12.5"}, {"x-ratelimit-remaining": "nan"},
    {"x-ratelimit-used": None}, {"x-ratelimit-reset": "inf"},
])
def test_odd_reddit_rate_limit_headers_do_not_break_the_poll(emulators: RunningEmulators,
                                                            odd: dict[str, str | None]) -> None:
    connector = reddit_connector(emulators)
    connector.fetch(SEARCH_ONLY, None)  # signed in, ordinary headers
    set_headers(emulators.reddit_server, odd)
    assert connector.fetch(SEARCH_ONLY, None).next_cursor
    assert connector.fetch(SEARCH_ONLY, None).next_cursor  # and nothing learnt makes it wait


def test_a_reddit_429_resetting_in_millennia_waits_at_most_the_longest_setting(emulators: RunningEmulators) -> None:
    connector = reddit_connector(emulators)
    connector.fetch(SEARCH_ONLY, None)
    set_headers(emulators.reddit_server, {"x-ratelimit-reset": "99999999999"}, status=429)
    emulators.reddit.inject("rate_limit", path_contains="/search")
    with pytest.raises(RateLimited) as caught:
        connector.fetch(SEARCH_ONLY, None)
    assert MAX_SETTING_SECONDS - 5 <= caught.value.retry_after <= MAX_SETTING_SECONDS
