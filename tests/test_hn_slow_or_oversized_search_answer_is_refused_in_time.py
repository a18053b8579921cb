"""A Hacker News search answer whose body trickles in, or that is larger than ``max_answer_bytes`` once unpacked
(a gzip bomb), is refused with an error saying so, within the request timeout. Until 2026-12-07 the request
timeout bounded each read of the socket only, so an answer sent a byte at a time held the poll thread (and every
query of the connector) for as long as it came, and an answer of any size was read whole into memory."""

from __future__ import annotations

import gzip
import json
import time
import zlib
from collections.abc import Iterator

import pytest
from pydantic import ValidationError

from connectors.base import BadPayload, ConnectorError, Query
from connectors.hackernews import HackerNewsConnector, HackerNewsSettings
from monitor.storage import Database
from tests.more_sources_fixtures import QuietHandler, one_connector_config, poll, serving

QUERY = Query(key="orbisto", brand="Orbisto", keywords=("Orbisto",))
HIT = {"objectID": "41", "author": "pg_fan", "created_at_i": int(time.time()) - 60, "_tags": ["comment"],
       "comment_text": "Orbisto lost my order", "story_id": 40, "parent_id": 40}
ANSWER = json.dumps({"hits": [HIT], "page": 0, "nbPages": 1, "nbHits": 1}).encode()
EMPTY_ANSWER_START = b'{"hits": [], "page": 0, "nbPages": 1, "nbHits": 0'  # then blank space and "}"
DRIP_FOR_SECONDS = 6.0  # then the server stops, so that a reader that never gives up still ends


def gzip_bomb(unpacked_bytes: int) -> bytes:
    """A whole, valid answer that unpacks to about ``unpacked_bytes``: blank space before its closing brace."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    blank = b" " * (1 << 20)
    parts = [packer.compress(EMPTY_ANSWER_START), *(packer.compress(blank) for _ in range(unpacked_bytes >> 20))]
    return b"".join([*parts, packer.compress(b"}"), packer.flush()])


BOMB = gzip_bomb(64 << 20)


class Handler(QuietHandler):
    """Answers by the first part of the path: the connector asks ``<api_base_url>/search_by_date``."""

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        kind = self.path.split("/")[1]
        self.send_response(503 if kind == "drip-503" else 200)
        self.send_header("content-type", "application/json")
        if kind.startswith("drip"):
            self.end_headers()
            self.drip(EMPTY_ANSWER_START + b" " * 10_000 + b"}")
            return
        body = {"bomb": BOMB, "gzipped": gzip.compress(ANSWER)}.get(kind, ANSWER)
        if kind in ("bomb", "gzipped"):
            self.send_header("content-encoding", "gzip")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def drip(self, body: bytes) -> None:
        stop = time.monotonic() + DRIP_FOR_SECONDS
        for byte in body:
            if time.monotonic() > stop:
                return
            try:
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
            except OSError:  # the reader gave up
                return
            time.sleep(0.05)


@pytest.fixture
def site() -> Iterator[str]:
    with serving(Handler) as url:
        yield url


def fetch(api_base_url: str, **settings: object) -> list[str]:
    """The texts of the first page the connector reads from ``api_base_url``."""
    connector = HackerNewsConnector(HackerNewsSettings(api_base_url=api_base_url, max_retries=0, **settings))
    try:
        return [m.text for m in connector.fetch(QUERY, None).mentions]
    finally:
        connector.close()


def timed_error(api_base_url: str, **settings: object) -> tuple[ConnectorError, float]:
    started = time.monotonic()
    with pytest.raises(ConnectorError) as raised:
        fetch(api_base_url, **settings)
    return raised.value, time.monotonic() - started


def test_an_answer_sent_a_byte_at_a_time_is_given_up_after_the_request_timeout(site: str) -> None:
    error, took = timed_error(f"{site}/drip", request_timeout_seconds=1)
    assert took < 3, f"the answer held the poll for {took:.1f} s"
    assert str(error) == "Hacker News search took longer than 1 s to send its answer"


def test_an_error_answer_sent_slowly_is_still_reported_by_its_status_in_time(site: str) -> None:
    error, took = timed_error(f"{site}/drip-503", request_timeout_seconds=1)
    assert took < 3, f"the answer held the poll for {took:.1f} s"
    assert str(error) == "Hacker News search answered 503"


def test_an_answer_larger_than_the_cap_once_unpacked_is_refused(site: str) -> None:
    error, _ = timed_error(f"{site}/bomb")
    assert isinstance(error, BadPayload)
    assert str(error) == f"Hacker News search sent more than {20 * 1024 * 1024} bytes (unpacked)"
    assert fetch(f"{site}/gzipped") == ["Orbisto lost my order"]  # a gzipped answer under the cap is read as before


def test_the_cap_is_a_setting(site: str) -> None:
    assert fetch(f"{site}/plain", max_answer_bytes=len(ANSWER)) == ["Orbisto lost my order"]
    error, _ = timed_error(f"{site}/plain", max_answer_bytes=100)
    assert isinstance(error, BadPayload) and str(error) == "Hacker News search sent more than 100 bytes (unpacked)"
    with pytest.raises(ValidationError):
        HackerNewsSettings(max_answer_bytes=0)


def test_a_poll_gives_up_on_a_slow_answer_and_reports_it(db: Database, site: str) -> None:
    config = one_connector_config(db, "hackernews", {"api_base_url": f"{site}/drip", "request_timeout_seconds": 1,
                                                     "max_retries": 0})
    started = time.monotonic()
    report = poll(db, config)
    assert time.monotonic() - started < 3
    assert "Hacker News search took longer than 1 s to send its answer" in (report.error or "")
