"""Fixtures and helpers for tests that run the real tweepy/praw clients against the emulators."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import pytest
from sqlalchemy import select

from connectors.base import FetchResult, Mention, Query
from connectors.emulators import DEMO_BRAND, DEMO_REDDIT_USERNAME, DEMO_SECRETS, DEMO_X_HANDLE, RunningEmulators, start_emulators
from connectors.reddit import RedditConnector, RedditSettings
from connectors.x import XConnector, XSettings
from monitor import models
from monitor.storage import Database

# Fixed, so the same seed always serves the same ids.
BACKLOG_END = datetime(2026, 11, 20, tzinfo=timezone.utc)
X_QUERY = Query(key="orbisto", brand=DEMO_BRAND, keywords=(DEMO_BRAND,), handle=DEMO_X_HANDLE)
REDDIT_QUERY = Query(key="orbisto", brand=DEMO_BRAND, keywords=(DEMO_BRAND,), handle=DEMO_REDDIT_USERNAME)
# Tiny back-off so retry tests stay fast.
FAST_RETRIES = {"max_retries": 2, "retry_backoff_seconds": 0.01}


@pytest.fixture
def emulators() -> Iterator[RunningEmulators]:
    with start_emulators(seed=7, backlog=60, backlog_end=BACKLOG_END) as running:
        yield running


def x_connector(running: RunningEmulators, **settings: Any) -> XConnector:
    return XConnector(XSettings(api_base_url=running.x_url, **{**FAST_RETRIES, **settings}), dict(DEMO_SECRETS["x"]))


def reddit_connector(running: RunningEmulators, secrets: dict[str, str] | None = None, **settings: Any) -> RedditConnector:
    options = {"oauth_url": running.reddit_url, "reddit_url": running.reddit_url, **FAST_RETRIES, **settings}
    return RedditConnector(RedditSettings(**options), dict(DEMO_SECRETS["reddit"] if secrets is None else secrets))


def drain(connector: Any, query: Query, cursor: str | None, max_pages: int = 50) -> tuple[list[Mention], str | None, list[FetchResult]]:
    """Fetch until the round is over, like the poller does; returns mentions, the last cursor and pages."""
    pages: list[FetchResult] = []
    for _ in range(max_pages):
        result = connector.fetch(query, cursor)
        pages.append(result)
        cursor = result.next_cursor
        if result.ack is not None:
            connector.acknowledge(result.ack)
        if not result.has_more:
            return [m for page in pages for m in page.mentions], cursor, pages
    raise AssertionError(f"still has_more after {max_pages} pages")


def pipeline_config(running: RunningEmulators, db: Database, *, x: dict[str, Any] | None = None,
                    reddit: dict[str, Any] | None = None) -> Any:
    from monitor.config import Config

    env = {f"MENTIONDESK_{c.upper()}_{k.upper()}": v for c, values in DEMO_SECRETS.items() for k, v in values.items()}
    return Config.from_dict(
        {
            "database": {"url": db.engine.url.render_as_string(hide_password=False)},
            "brands": [{"name": DEMO_BRAND, "keywords": [DEMO_BRAND],
                        "handles": {"x": DEMO_X_HANDLE, "reddit": DEMO_REDDIT_USERNAME}}],
            "connectors": {
                "x": {"api_base_url": running.x_url, "page_size": 10, "first_run_pages": 20, **FAST_RETRIES, **(x or {})},
                "reddit": {"oauth_url": running.reddit_url, "reddit_url": running.reddit_url, "page_size": 10,
                           "comment_subreddits": ["technology", "india", "mexico"], **FAST_RETRIES, **(reddit or {})},
            },
        },
        env=env,
    )


def stored_ids(db: Database, platform: str) -> set[str]:
    with db.read() as session:
        return set(session.scalars(select(models.Mention.external_id).where(models.Mention.platform == platform)))
