"""Odd X and Bluesky posts are stored, cleaned; one that cannot be stored is set aside in the audit log.
Each of these used to stop its source on every poll: the page was refused, or a KeyError/AttributeError/
ValueError escaped the connector, and the posts after it were never stored."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

import pytest
from sqlalchemy import select

from connectors.base import Query
from connectors.bluesky import BlueskyConnector, BlueskySettings
from connectors.emulators import DEMO_BLUESKY_HANDLE, DEMO_SECRETS, RunningEmulators
from connectors.emulators.server import Request, Response
from monitor.ingest import SET_ASIDE
from monitor.models import AuditEntry
from monitor.storage import Database
from tests.emulator_fixtures import X_QUERY, x_connector
from tests.fault_tools import rewrite_answers
from tests.more_sources_fixtures import (
    FAST_RETRIES,
    one_connector_config,
    poll,
    stored_rows,
)

SEARCH_ONLY = Query(key="orbisto", brand="Orbisto", keywords=("Orbisto",))


def x_config(db: Database, emulators: RunningEmulators) -> Any:
    env = {f"MENTIONDESK_X_{k.upper()}": v for k, v in DEMO_SECRETS["x"].items()}
    return one_connector_config(db, "x", {"api_base_url": emulators.x_url, "mentions": False, "page_size": 100},
                                env=env)


def odd_x_post(emulators: RunningEmulators, post_id: str, change: Callable[[dict[str, Any]], None]) -> None:
    """Apply ``change`` to post ``post_id`` wherever recent search serves it."""
    def rewrite(request: Request, response: Response) -> Response:
        if "/2/tweets/search/recent" in request.path and isinstance(response.payload, dict):
            for tweet in response.payload.get("data") or []:
                if tweet["id"] == post_id:
                    change(tweet)
        return response

    rewrite_answers(emulators.x_server, rewrite)


def set_aside_entries(db: Database) -> list[dict[str, Any]]:
    with db.read() as session:
        return [e.details for e in session.scalars(select(AuditEntry).where(AuditEntry.action == SET_ASIDE))]


def test_x_created_at_without_a_zone_is_utc_and_an_unreadable_one_the_fetch_time(db: Database,
                                                                                 emulators: RunningEmulators) -> None:
    config = x_config(db, emulators)
    assert poll(db, config).ok
    naive = emulators.x.add_post("Orbisto router died again", username="naive_clock")
    unreadable = emulators.x.add_post("Orbisto support is slow", username="broken_clock")
    changes = {naive: "2026-11-19T10:00:00", unreadable: "yesterday"}
    for post_id, sent in changes.items():
        odd_x_post(emulators, post_id, lambda tweet, sent=sent: tweet.__setitem__("created_at", sent))
    later = emulators.x.add_post("Orbisto refund arrived", username="happy_later")
    before = datetime.now(timezone.utc)
    report = poll(db, config)
    assert report.ok and report.set_aside == 0, report.error
    rows = stored_rows(db, "x")
    assert {naive, unreadable, later} <= rows.keys()
    assert rows[naive]["created_at"] == datetime(2026, 11, 19, 10, tzinfo=timezone.utc)
    assert rows[unreadable]["raw"]["created_at_as_sent"] == "yesterday"
    assert rows[unreadable]["created_at"] >= before - timedelta(seconds=5)


def test_an_x_post_whose_id_cannot_be_stored_is_set_aside_and_the_rest_stored(db: Database,
                                                                              emulators: RunningEmulators,
                                                                              caplog: pytest.LogCaptureFixture) -> None:
    config = x_config(db, emulators)
    assert poll(db, config).ok
    odd = emulators.x.add_post("Orbisto charged me twice, card 4111", username="long_id")
    long_id = "1" * 250  # past the store's 200 characters
    odd_x_post(emulators, odd, lambda tweet: tweet.__setitem__("id", long_id))
    later = emulators.x.add_post("Orbisto support was great today", username="happy_later")
    with caplog.at_level(logging.WARNING):
        report = poll(db, config)
    assert report.ok and report.set_aside == 1 and report.stored == 1, report.error
    assert later in stored_rows(db, "x")
    (entry,) = set_aside_entries(db)
    assert entry["connector"] == "x" and "external id longer than 200" in entry["reason"]
    assert entry["mention"]["external_id"] == long_id and entry["mention"]["text"].startswith("Orbisto charged")
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert any("x mention '1111" in w and SET_ASIDE in w for w in warnings), warnings
    assert not any(long_id in w or "charged me twice" in w for w in warnings), "no whole id, no text, in the log"
    again = poll(db, config)  # the cursor moved past it: nothing fetched twice, nothing set aside twice
    assert again.ok and again.set_aside == 0 and len(set_aside_entries(db)) == 1


def test_an_x_newest_id_of_5000_digits_leaves_since_id_where_it_was(emulators: RunningEmulators) -> None:
    connector = x_connector(emulators, mentions=False)

    def huge_newest(request: Request, response: Response) -> Response:
        if "/2/tweets/search/recent" in request.path and isinstance(response.payload, dict):
            response.payload["meta"]["newest_id"] = "9" * 5000
        return response

    rewrite_answers(emulators.x_server, huge_newest)
    page = connector.fetch(X_QUERY, None)
    assert page.mentions and json.loads(page.next_cursor or "{}")["search"]["since_id"] is None


ODD_RECORDS: dict[str, Callable[[dict[str, Any]], None]] = {
    "reply not an object": lambda record: record.__setitem__("reply", "oops"),
    "reply root without a uri": lambda record: record.__setitem__("reply", {"root": {"cid": "x"},
                                                                            "parent": {"cid": "x"}}),
    "facets not objects": lambda record: record.__setitem__("facets", ["x"]),
    "facet features not objects": lambda record: record.__setitem__(
        "facets", [{"index": {"byteStart": 0, "byteEnd": 1}, "features": ["x"]}]),
    "langs a string": lambda record: record.__setitem__("langs", "en"),
}


def odd_bluesky_post(emulators: RunningEmulators, uri: str, change: Callable[[dict[str, Any]], None]) -> None:
    """Apply ``change`` to the record of post ``uri`` wherever search or notifications serve it (the
    emulator itself reads its records' reply refs, so they are changed on the way out)."""
    def rewrite(request: Request, response: Response) -> Response:
        if isinstance(response.payload, dict):
            for post in (response.payload.get("posts") or []) + (response.payload.get("notifications") or []):
                if post["uri"] == uri:
                    change(post["record"])
        return response

    rewrite_answers(emulators.bluesky_server, rewrite)


@pytest.mark.parametrize("odd", list(ODD_RECORDS))
def test_a_bluesky_record_with_odd_optional_parts_is_read_without_them(odd: str, emulators: RunningEmulators) -> None:
    connector = BlueskyConnector(BlueskySettings(api_base_url=emulators.bluesky_url, notifications=False,
                                                 **FAST_RETRIES), dict(DEMO_SECRETS["bluesky"]))
    first = connector.fetch(SEARCH_ONLY, None)
    uri = emulators.bluesky.add_post("Orbisto lost my parcel", handle="odd.bsky.social")
    odd_bluesky_post(emulators, uri, ODD_RECORDS[odd])
    later = emulators.bluesky.add_post("Orbisto found it", handle="ben.bsky.social")
    page = connector.fetch(SEARCH_ONLY, first.next_cursor)
    got = {m.external_id: m for m in page.mentions}
    assert {uri, later} <= got.keys()
    assert got[uri].thread_id == uri and got[uri].parent_id is None, "a reply ref it cannot read: a top-level post"
    assert got[uri].lang in (None, "en")


def test_bluesky_odd_posts_are_stored_through_the_poller(db: Database, emulators: RunningEmulators) -> None:
    env = {f"MENTIONDESK_BLUESKY_{k.upper()}": v for k, v in DEMO_SECRETS["bluesky"].items()}
    config = one_connector_config(db, "bluesky", {"api_base_url": emulators.bluesky_url, "page_size": 10},
                                  env=env, handle=DEMO_BLUESKY_HANDLE)
    assert poll(db, config).ok
    odd = emulators.bluesky.add_post("@orbisto.bsky.social where is my refund", handle="odd.bsky.social")
    odd_bluesky_post(emulators, odd, ODD_RECORDS["reply root without a uri"])
    later = emulators.bluesky.add_post("@orbisto.bsky.social thanks!", handle="ben.bsky.social")
    report = poll(db, config)
    assert report.ok, report.error
    assert {odd, later} <= stored_rows(db, "bluesky").keys()
