"""A brand handle Bluesky cannot resolve (renamed, a typo, a failed lookup) no longer stops keyword search.

The handle only tags search posts that @mention the brand (``mentions_brand``); until 2026-12-07 resolving it
failed every search page on every poll. Real atproto client against the Bluesky emulator.
"""

from __future__ import annotations

import logging
import time

import pytest

from connectors.base import ConnectorError, Query
from connectors.bluesky import BlueskyConnector, BlueskySettings
from connectors.emulators import DEMO_SECRETS, RunningEmulators
from tests.emulator_fixtures import drain
from tests.more_sources_fixtures import FAST_RETRIES

OLD_HANDLE = "orbisto-old.bsky.social"  # the brand's handle before a rename, still in the config
QUERY = Query(key="orbisto", brand="Orbisto", keywords=("Orbisto",), handle=OLD_HANDLE)


def bsky(running: RunningEmulators, **settings: object) -> BlueskyConnector:
    options = {"api_base_url": running.bluesky_url, "page_size": 5, **FAST_RETRIES, **settings}
    return BlueskyConnector(BlueskySettings(**options), dict(DEMO_SECRETS["bluesky"]))


def handle_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and OLD_HANDLE in r.getMessage()]


def test_keyword_search_reads_posts_and_warns_once_per_poll_interval(emulators: RunningEmulators,
                                                                      caplog: pytest.LogCaptureFixture) -> None:
    connector = bsky(emulators, notifications=False, poll_interval_seconds=3600)
    first, cursor, _ = drain(connector, QUERY, None)
    posted = {emulators.bluesky.add_post(f"Orbisto order {n} is late", handle=f"u{n}.bsky.social") for n in range(12)}
    second, _, pages = drain(connector, QUERY, cursor)
    assert len(first) == 5 and {m.external_id for m in second} == posted and len(pages) > 1
    assert not any(m.raw["mentions_brand"] for m in first + second)
    warnings = handle_warnings(caplog)
    assert len(warnings) == 1, "once per poll interval, not once per page"
    assert "not replyable" in warnings[0] and "handles.bluesky" in warnings[0]


def test_the_handle_is_tried_again_on_a_later_poll(emulators: RunningEmulators) -> None:
    connector = bsky(emulators, notifications=False, poll_interval_seconds=0.1)
    _, cursor, _ = drain(connector, QUERY, None)
    emulators.bluesky.add_post("Orbisto here, under our old handle again", handle=OLD_HANDLE)  # it resolves now
    mention = emulators.bluesky.add_post(f"@{OLD_HANDLE} Orbisto lost my parcel", handle="ana.bsky.social")
    time.sleep(0.2)  # past the poll interval
    later, _, _ = drain(connector, QUERY, cursor)
    assert [m.raw["mentions_brand"] for m in later if m.external_id == mention] == [True]


def test_only_the_notifications_source_fails(emulators: RunningEmulators) -> None:
    connector = bsky(emulators, poll_interval_seconds=3600)
    search = connector.fetch(QUERY, None)
    assert search.mentions and search.has_more
    with pytest.raises(ConnectorError, match="brand handle") as failed:
        connector.fetch(QUERY, search.next_cursor)
    assert failed.value.resume is not None and failed.value.resume.source_error.startswith("notifications:")
