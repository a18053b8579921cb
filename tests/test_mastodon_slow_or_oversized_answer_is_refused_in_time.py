"""A Mastodon answer whose body trickles in, or that is larger than ``max_answer_bytes`` once unpacked (a gzip
bomb), is refused with an error saying so, within the request timeout; a reply whose answer trickles in is
reported as perhaps posted, in time. Until 2026-12-07 the request timeout bounded each read of the socket only
(Mastodon.py reads the body whole), so an answer sent a byte at a time held the poll thread, or the reply, for
as long as it came, and an answer of any size was read whole into memory."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
from pydantic import ValidationError

from connectors.base import BadPayload, DeliveryUnknown, ReplyTarget
from connectors.mastodon import MastodonConnector, MastodonSettings
from tests.more_sources_fixtures import (
    SlowOrOversizedAnswers,
    first_page_texts,
    gzip_bomb,
    serving,
    timed_error,
)

STATUS = {"id": "1001", "created_at": "2026-12-01T10:00:00.000Z", "content": "<p>Orbisto lost my order</p>",
          "url": "https://mastodon.example/@ana/1001", "visibility": "public",
          "account": {"id": "7", "acct": "ana@mastodon.example", "username": "ana"}}
ANSWER = json.dumps({"accounts": [], "statuses": [STATUS], "hashtags": []}).encode()
EMPTY_ANSWER_START = b'{"accounts": [], "statuses": [], "hashtags": []'  # then blank space and "}"
TARGET = ReplyTarget("mastodon", "1001", True, raw={"acct": "ana@mastodon.example", "visibility": "public"})


class Handler(SlowOrOversizedAnswers):
    """Mastodon.py asks ``<api_base_url>/api/...``, so the base URL's path picks the answer; a post (a reply) is
    answered a byte at a time."""

    CONTENT_TYPE = "application/json"
    ANSWER = ANSWER
    SLOW_ANSWER = EMPTY_ANSWER_START + b" " * 10_000 + b"}"
    BOMB = gzip_bomb(EMPTY_ANSWER_START, b"}")

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        self.rfile.read(int(self.headers.get("content-length", 0)))
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.end_headers()
        self.drip(json.dumps(STATUS).encode())


@pytest.fixture
def site() -> Iterator[str]:
    with serving(Handler) as url:
        yield url


def connector(api_base_url: str, **settings: object) -> MastodonConnector:
    options = {"api_base_url": api_base_url, "hashtags": [], "notifications": False, "max_retries": 0, **settings}
    return MastodonConnector(MastodonSettings(**options), {"access_token": "token"})


def fetch(api_base_url: str, **settings: object) -> list[str]:
    """The texts of the first page the connector reads (its status search) from ``api_base_url``."""
    return first_page_texts(connector(api_base_url, **settings))


def test_an_answer_sent_a_byte_at_a_time_is_given_up_after_the_request_timeout(site: str) -> None:
    error, took = timed_error(fetch, f"{site}/drip", request_timeout_seconds=1)
    assert took < 3, f"the answer held the poll for {took:.1f} s"
    assert str(error) == "Mastodon took longer than 1 s to send its answer"


def test_an_answer_larger_than_the_cap_once_unpacked_is_refused(site: str) -> None:
    error, _ = timed_error(fetch, f"{site}/bomb")
    assert isinstance(error, BadPayload)
    assert str(error) == f"Mastodon sent more than {20 * 1024 * 1024} bytes (unpacked)"
    assert fetch(f"{site}/gzipped") == ["Orbisto lost my order"]  # a gzipped answer under the cap is read as before


def test_the_cap_is_a_setting(site: str) -> None:
    assert fetch(f"{site}/plain", max_answer_bytes=len(ANSWER)) == ["Orbisto lost my order"]
    error, _ = timed_error(fetch, f"{site}/plain", max_answer_bytes=100)
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
