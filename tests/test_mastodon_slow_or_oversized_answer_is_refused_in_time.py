"""A Mastodon answer whose body trickles in, or that is larger than ``max_answer_bytes`` once unpacked (a gzip
bomb), is refused with an error saying so, within the request timeout; a reply whose answer trickles in is
reported as perhaps posted, in time. Until 2026-12-07 the request timeout bounded each read of the socket only
(Mastodon.py reads the body whole), so an answer sent a byte at a time held the poll thread, or the reply, for
as long as it came, and an answer of any size was read whole into memory."""

from __future__ import annotations

import gzip
import json
import time
import zlib
from collections.abc import Iterator

import pytest
from pydantic import ValidationError

from connectors.base import BadPayload, ConnectorError, DeliveryUnknown, Query, ReplyTarget
from connectors.mastodon import MastodonConnector, MastodonSettings
from tests.more_sources_fixtures import QuietHandler, serving

QUERY = Query(key="orbisto", brand="Orbisto", keywords=("Orbisto",))
STATUS = {"id": "1001", "created_at": "2026-12-01T10:00:00.000Z", "content": "<p>Orbisto lost my order</p>",
          "url": "https://mastodon.example/@ana/1001", "visibility": "public",
          "account": {"id": "7", "acct": "ana@mastodon.example", "username": "ana"}}
ANSWER = json.dumps({"accounts": [], "statuses": [STATUS], "hashtags": []}).encode()
EMPTY_ANSWER_START = b'{"accounts": [], "statuses": [], "hashtags": []'  # then blank space and "}"
DRIP_FOR_SECONDS = 6.0  # then the server stops, so that a reader that never gives up still ends
TARGET = ReplyTarget("mastodon", "1001", True, raw={"acct": "ana@mastodon.example", "visibility": "public"})


def gzip_bomb(unpacked_bytes: int) -> bytes:
    """A whole, valid answer that unpacks to about ``unpacked_bytes``: blank space before its closing brace."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    blank = b" " * (1 << 20)
    parts = [packer.compress(EMPTY_ANSWER_START), *(packer.compress(blank) for _ in range(unpacked_bytes >> 20))]
    return b"".join([*parts, packer.compress(b"}"), packer.flush()])


BOMB = gzip_bomb(64 << 20)


class Handler(QuietHandler):
    """Answers by the first part of the path: Mastodon.py asks ``<api_base_url>/api/...``."""

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        kind = self.path.split("/")[1]
        self.send_response(200)
        self.send_header("content-type", "application/json")
        if kind == "drip":
            self.end_headers()
            self.drip(EMPTY_ANSWER_START + b" " * 10_000 + b"}")
            return
        body = {"bomb": BOMB, "gzipped": gzip.compress(ANSWER)}.get(kind, ANSWER)
        if kind in ("bomb", "gzipped"):
            self.send_header("content-encoding", "gzip")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        self.rfile.read(int(self.headers.get("content-length", 0)))
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.end_headers()
        self.drip(json.dumps(STATUS).encode())

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


def connector(api_base_url: str, **settings: object) -> MastodonConnector:
    options = {"api_base_url": api_base_url, "hashtags": [], "notifications": False, "max_retries": 0, **settings}
    return MastodonConnector(MastodonSettings(**options), {"access_token": "token"})


def fetch(api_base_url: str, **settings: object) -> list[str]:
    """The texts of the first page the connector reads (its status search) from ``api_base_url``."""
    reader = connector(api_base_url, **settings)
    try:
        return [m.text for m in reader.fetch(QUERY, None).mentions]
    finally:
        reader.close()


def timed_error(api_base_url: str, **settings: object) -> tuple[ConnectorError, float]:
    started = time.monotonic()
    with pytest.raises(ConnectorError) as raised:
        fetch(api_base_url, **settings)
    return raised.value, time.monotonic() - started


def test_an_answer_sent_a_byte_at_a_time_is_given_up_after_the_request_timeout(site: str) -> None:
    error, took = timed_error(f"{site}/drip", request_timeout_seconds=1)
    assert took < 3, f"the answer held the poll for {took:.1f} s"
    assert str(error) == "Mastodon took longer than 1 s to send its answer"


def test_an_answer_larger_than_the_cap_once_unpacked_is_refused(site: str) -> None:
    error, _ = timed_error(f"{site}/bomb")
    assert isinstance(error, BadPayload)
    assert str(error) == f"Mastodon sent more than {20 * 1024 * 1024} bytes (unpacked)"
    assert fetch(f"{site}/gzipped") == ["Orbisto lost my order"]  # a gzipped answer under the cap is read as before


def test_the_cap_is_a_setting(site: str) -> None:
    assert fetch(f"{site}/plain", max_answer_bytes=len(ANSWER)) == ["Orbisto lost my order"]
    error, _ = timed_error(f"{site}/plain", max_answer_bytes=100)
    assert isinstance(error, BadPayload) and str(error) == "Mastodon sent more than 100 bytes (unpacked)"
    with pytest.raises(ValidationError):
        MastodonSettings(api_base_url=site, max_answer_bytes=0)


def test_a_reply_whose_answer_trickles_in_is_reported_as_perhaps_posted_in_time(site: str) -> None:
    replier = connector(site, request_timeout_seconds=1)
    started = time.monotonic()
    try:
        with pytest.raises(DeliveryUnknown, match="check the thread before retrying"):
            replier.reply(TARGET, "Sorry about that, we are on it", "key-1")
    finally:
        replier.close()
    assert time.monotonic() - started < 3
