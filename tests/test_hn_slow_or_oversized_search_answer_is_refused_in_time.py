"""A Hacker News search answer whose body trickles in, or that is larger than ``max_answer_bytes`` once unpacked
(a gzip bomb), is refused with an error saying so, within the request timeout. Until 2026-12-07 the request
timeout bounded each read of the socket only, so an answer sent a byte at a time held the poll thread (and every
query of the connector) for as long as it came, and an answer of any size was read whole into memory."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
from pydantic import ValidationError

from connectors.base import BadPayload
from connectors.hackernews import HackerNewsConnector, HackerNewsSettings
from monitor.storage import Database
from tests.more_sources_fixtures import (
    SlowOrOversizedAnswers,
    first_page_texts,
    gzip_bomb,
    one_connector_config,
    poll,
    serving,
    timed_error,
)

HIT = {"objectID": "41", "author": "pg_fan", "created_at_i": int(time.time()) - 60, "_tags": ["comment"],
       "comment_text": "Orbisto lost my order", "story_id": 40, "parent_id": 40}
ANSWER = json.dumps({"hits": [HIT], "page": 0, "nbPages": 1, "nbHits": 1}).encode()
EMPTY_ANSWER_START = b'{"hits": [], "page": 0, "nbPages": 1, "nbHits": 0'  # then blank space and "}"


class Handler(SlowOrOversizedAnswers):
    """The connector asks ``<api_base_url>/search_by_date``, so the base URL's path picks the answer."""

    CONTENT_TYPE = "application/json"
    ANSWER = ANSWER
    SLOW_ANSWER = EMPTY_ANSWER_START + b" " * 10_000 + b"}"
    BOMB = gzip_bomb(EMPTY_ANSWER_START, b"}")


@pytest.fixture
def site() -> Iterator[str]:
    with serving(Handler) as url:
        yield url


def fetch(api_base_url: str, **settings: object) -> list[str]:
    """The texts of the first page the connector reads from ``api_base_url``."""
    options = HackerNewsSettings(api_base_url=api_base_url, max_retries=0, **settings)
    return first_page_texts(HackerNewsConnector(options))


def test_an_answer_sent_a_byte_at_a_time_is_given_up_after_the_request_timeout(site: str) -> None:
    error, took = timed_error(fetch, f"{site}/drip", request_timeout_seconds=1)
    assert took < 3, f"the answer held the poll for {took:.1f} s"
    assert str(error) == "Hacker News search took longer than 1 s to send its answer"


def test_an_error_answer_sent_slowly_is_still_reported_by_its_status_in_time(site: str) -> None:
    error, took = timed_error(fetch, f"{site}/drip-503", request_timeout_seconds=1)
    assert took < 3, f"the answer held the poll for {took:.1f} s"
    assert str(error) == "Hacker News search answered 503"


def test_an_answer_larger_than_the_cap_once_unpacked_is_refused(site: str) -> None:
    error, _ = timed_error(fetch, f"{site}/bomb")
    assert isinstance(error, BadPayload)
    assert str(error) == f"Hacker News search sent more than {20 * 1024 * 1024} bytes (unpacked)"
    assert fetch(f"{site}/gzipped") == ["Orbisto lost my order"]  # a gzipped answer under the cap is read as before


def test_the_cap_is_a_setting(site: str) -> None:
    assert fetch(f"{site}/plain", max_answer_bytes=len(ANSWER)) == ["Orbisto lost my order"]
    error, _ = timed_error(fetch, f"{site}/plain", max_answer_bytes=100)
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
