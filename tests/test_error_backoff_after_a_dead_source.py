"""A source that stays dead (a feed gone) fails every round without backing the connector off. Such
rounds no longer count towards the error back-off: the first full outage after them backs off one
poll interval, then twice that, and so on, capped at an hour. Until 2026-12-07 every partial failure
doubled it too, so after six rounds with one dead feed the first outage stopped the connector an hour."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest

from connectors.base import (
    Connector,
    ConnectorError,
    FetchResult,
    Query,
    fetch_in_rounds,
)
from monitor.config import Config
from monitor.models import ConnectorStatus, utcnow
from monitor.poller import MAX_ERROR_BACKOFF_SECONDS, poll_once
from monitor.storage import Database
from tests.connector_doubles import mention, registered
from tests.fault_tools import connector_status

INTERVAL = 600.0


class _Sources:
    """A round cursor over the connector's feeds."""

    def __init__(self, pending: list[str]) -> None:
        self.pending = pending

    def dump(self) -> str:
        return json.dumps(self.pending)


class TwoFeedsConnector(Connector):
    """Two feeds: ``gone`` answers 404 for good; ``ok`` answers a post, or 503 while the site is down."""

    name = "twofeeds"
    site_down = False

    def fetch(self, query: Query, cursor: str | None) -> FetchResult:
        sources = _Sources(json.loads(cursor) if cursor else [])
        return fetch_in_rounds(sources, ["gone", "ok"], lambda pending: self._read(sources, pending))

    def _read(self, sources: _Sources, pending: list[str]) -> FetchResult:
        if pending[0] == "gone":
            raise ConnectorError("feed answered 404")
        if self.site_down:
            raise ConnectorError("feed answered 503")
        sources.pending = pending[1:]
        return FetchResult([mention(self.name, 1)], next_cursor=sources.dump(), has_more=bool(sources.pending))


@pytest.fixture(autouse=True)
def _double() -> Iterator[None]:
    TwoFeedsConnector.site_down = False
    with registered(TwoFeedsConnector):
        yield


def _poll(db: Database) -> tuple[datetime, datetime, ConnectorStatus]:
    """One round (back-off ignored, as by `poll --once`): when it began and ended, and the status after."""
    config = Config.from_dict({"brands": [{"name": "Acme", "keywords": ["acme"]}], "database": {"url": db.display_url},
                               "connectors": {"twofeeds": {"poll_interval_seconds": INTERVAL}}}, env={})
    began = utcnow()
    poll_once(db, config)
    status = connector_status(db, "twofeeds")
    assert status is not None
    return began, utcnow(), status


def test_rounds_with_one_dead_feed_do_not_lengthen_the_next_outages_back_off(db: Database) -> None:
    for _ in range(8):
        *_, status = _poll(db)
        assert status.backoff_until is None, "one feed failing does not hold back the other"

    TwoFeedsConnector.site_down = True
    backoffs = []
    for _ in range(5):
        began, ended, status = _poll(db)
        backoffs.append(status.backoff_until)
        delay = min(INTERVAL * 2 ** (len(backoffs) - 1), MAX_ERROR_BACKOFF_SECONDS)
        assert status.backoff_until is not None and status.backoff_reason == "error"
        assert began + timedelta(seconds=delay) <= status.backoff_until <= ended + timedelta(seconds=delay), (
            f"outage round {len(backoffs)} backs off {delay:g}s")
    assert status.consecutive_failures == 13, "`status` still counts every failed round"
