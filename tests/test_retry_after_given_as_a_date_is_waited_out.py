"""A 429 (or 503) whose Retry-After is an HTTP date, as RFC 9110 allows and CDNs send, is waited out until that
date. Until 2026-12-07 only a number of seconds was read, so a feed that asked for two hours was polled again
every minute."""

from __future__ import annotations

import time
from collections.abc import Iterator
from email.utils import formatdate

import pytest
import requests

from connectors._http import retry_after
from connectors.base import DEFAULT_RETRY_AFTER_SECONDS, Query, RateLimited
from connectors.rss import RssConnector, RssSettings
from tests.more_sources_fixtures import QuietHandler, serving


def answer(retry_after_header: str) -> requests.Response:
    response = requests.Response()
    response.headers["Retry-After"] = retry_after_header
    return response


@pytest.fixture
def limited_feed() -> Iterator[str]:
    """A feed answering 429 (path /429) or 503 (any other), asking to come back in two hours, as a date."""

    class Handler(QuietHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            self.send_response(429 if self.path == "/429" else 503)
            self.send_header("retry-after", formatdate(time.time() + 7200, usegmt=True))
            self.send_header("content-length", "0")
            self.end_headers()

    with serving(Handler) as url:
        yield url


@pytest.mark.parametrize("path", ["/429", "/503"])
def test_a_feed_asking_to_wait_until_a_date_is_left_until_then(limited_feed: str, path: str) -> None:
    connector = RssConnector(RssSettings(feeds=[limited_feed + path], max_retries=0))
    try:
        with pytest.raises(RateLimited) as raised:
            connector.fetch(Query(key="k", brand="Orbisto", keywords=("Orbisto",)), None)
    finally:
        connector.close()
    assert 7190 <= raised.value.retry_after <= 7200


def test_retry_after_reads_seconds_and_dates() -> None:
    assert retry_after(answer("120")) == 120
    assert 590 <= retry_after(answer(formatdate(time.time() + 600, usegmt=True))) <= 600
    assert 590 <= retry_after(answer(formatdate(time.time() + 600, localtime=True))) <= 600  # any zone
    assert retry_after(answer("Thu, 01 Jan 2015 00:00:00 GMT")) == 0  # gone by: no wait
    assert retry_after(answer("soon")) == DEFAULT_RETRY_AFTER_SECONDS
    assert retry_after(requests.Response()) == DEFAULT_RETRY_AFTER_SECONDS
