"""A feed whose body trickles in, or that is larger than ``max_feed_bytes`` once unpacked (a gzip bomb), is
refused with an error naming it, and the connector's other feeds are read. Until 2026-12-07 the request timeout
bounded each read of the socket only, so a feed sent a byte at a time held the poll thread, and every feed and
brand of the connector, for as long as it came; and a gzipped feed was unpacked whole into memory (half a
megabyte on the wire took 2 GB)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from pydantic import ValidationError

from connectors.base import BadPayload, ConnectorError
from connectors.rss import RssConnector, RssSettings
from tests.more_sources_fixtures import (
    QUERY,
    SlowOrOversizedAnswers,
    gzip_bomb,
    serving,
)

FEED_START = (b'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>t</title>'
              b"<link>https://news.example.com/</link><description>")
FEED = (FEED_START + b"d</description><item><guid>https://news.example.com/1</guid><title>Orbisto recalls its router"
        b"</title></item></channel></rss>")


class Handler(SlowOrOversizedAnswers):
    CONTENT_TYPE = "application/rss+xml"
    ANSWER = FEED
    SLOW_ANSWER = FEED_START + b" " * 10_000
    BOMB = gzip_bomb(FEED_START, b"</description></channel></rss>")  # blank space in the channel's description


@pytest.fixture
def site() -> Iterator[str]:
    with serving(Handler) as url:
        yield url


def refused_then_next_feed(connector: RssConnector) -> tuple[ConnectorError, float, list[str]]:
    """The first feed's error and how long it took, then the texts read from the next feed."""
    started = time.monotonic()
    with pytest.raises(ConnectorError) as raised:
        connector.fetch(QUERY, None)
    took = time.monotonic() - started
    assert raised.value.resume is not None
    page = connector.fetch(QUERY, raised.value.resume.next_cursor)
    return raised.value, took, [m.text for m in page.mentions]


def test_a_feed_sent_a_byte_at_a_time_is_given_up_after_the_request_timeout(site: str) -> None:
    settings = RssSettings(feeds=[f"{site}/drip", f"{site}/news"], request_timeout_seconds=1, max_retries=0)
    connector = RssConnector(settings)
    try:
        error, took, texts = refused_then_next_feed(connector)
    finally:
        connector.close()
    assert took < 3, f"the feed held the poll for {took:.1f} s"
    assert f"{site}/drip" in str(error)
    assert texts == ["Orbisto recalls its router"]


def test_a_feed_larger_than_the_cap_once_unpacked_is_refused(site: str) -> None:
    connector = RssConnector(RssSettings(feeds=[f"{site}/bomb", f"{site}/gzipped"], max_retries=0))
    try:
        error, _, texts = refused_then_next_feed(connector)
    finally:
        connector.close()
    assert isinstance(error, BadPayload)
    assert f"{site}/bomb" in str(error) and str(20 * 1024 * 1024) in str(error)
    assert texts == ["Orbisto recalls its router"]  # a gzipped feed under the cap is read as before


def test_the_cap_is_a_setting(site: str) -> None:
    connector = RssConnector(RssSettings(feeds=[f"{site}/news"], max_feed_bytes=100, max_retries=0))
    try:
        with pytest.raises(BadPayload, match=f"feed {site}/news sent more than 100 bytes"):
            connector.fetch(QUERY, None)
    finally:
        connector.close()
    with pytest.raises(ValidationError):
        RssSettings(feeds=[f"{site}/news"], max_feed_bytes=0)
