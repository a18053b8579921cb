"""Two workers share a connector. One is told to wait (429, retry after 900 s) while the other's page is
in flight; that round then fails, wholly or for one source only. The rate limit still holds for every
worker until it runs out, and an error back-off never ends an earlier-stored one sooner. Until 2026-12-07
the failure replaced the limit with a one-interval error back-off, or (some sources failing) lifted it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from connectors.base import (
    Connector,
    ConnectorError,
    ConnectorSettings,
    FetchResult,
    Query,
    RateLimited,
)
from monitor.config import Config
from monitor.models import ConnectorStatus, utcnow
from monitor.poller import Poller, poll_connector, record_failure
from monitor.storage import Database
from tests.connector_doubles import mention, registered
from tests.fault_tools import connector_status

RETRY_AFTER = 900


class SharedLimitConnector(Connector):
    """One client limit for both brands: Alpha's query is refused; Beta's pages fail as ``beta_fails``
    says, its second page (or only page) running ``in_flight`` first."""

    name = "sharedlimit"
    beta_fails = "error"

    def __init__(self, settings: ConnectorSettings, secrets: dict[str, str] | None = None) -> None:
        super().__init__(settings, secrets)
        self.in_flight: Callable[[], None] = lambda: None

    def fetch(self, query: Query, cursor: str | None) -> FetchResult:
        if query.key == "alpha":
            raise RateLimited("429 Too Many Requests", retry_after=RETRY_AFTER)
        if self.beta_fails == "some sources":  # a first page with one feed down, a second page fine
            if cursor is None:
                return FetchResult([mention(self.name, 1)], next_cursor="1", has_more=True,
                                   source_error="feed #2: 404")
            self.in_flight()
            return FetchResult([mention(self.name, 2)], next_cursor="2")
        self.in_flight()
        if self.beta_fails == "error":
            raise ConnectorError("502 from the platform")
        return FetchResult([mention(self.name, 1)], next_cursor="1", source_error="feed #2: 404")  # its only source


def _config(db: Database) -> Config:
    brands = [{"name": "Alpha", "keywords": ["a"]}, {"name": "Beta", "keywords": ["b"]}]
    return Config.from_dict({"brands": brands, "database": {"url": db.display_url},
                             "connectors": {"sharedlimit": {"poll_interval_seconds": 60}}}, env={})


@pytest.mark.parametrize("beta_fails", ["error", "every source", "some sources"])
def test_a_failed_round_leaves_another_workers_rate_limit_in_place(
        db: Database, monkeypatch: pytest.MonkeyPatch, beta_fails: str) -> None:
    monkeypatch.setattr(SharedLimitConnector, "beta_fails", beta_fails)
    with registered(SharedLimitConnector):
        workers = {name: Poller(db, _config(db), worker_id=name) for name in ("A", "B", "C")}

        def round_of(worker: str, brand: str | None = None) -> str | None:
            poller = workers[worker]
            cc, connector = poller.connectors["sharedlimit"]
            queries = [(q, i) for q, i in poller.queries["sharedlimit"] if brand is None or q.key == brand]
            report = poll_connector(db, cc, connector, queries, owner=worker)
            return report.skipped or report.error

        limited: list[str | None] = []
        b_connector = workers["B"].connectors["sharedlimit"][1]
        assert isinstance(b_connector, SharedLimitConnector)
        b_connector.in_flight = lambda: limited.append(round_of("A", "alpha"))
        b_error = round_of("B", "beta")
        assert b_error is not None and "rate limited" not in b_error, "B's round failed on its own"
        assert limited and "rate limited" in (limited[0] or "")
        status = connector_status(db, "sharedlimit")
        assert status is not None and status.backoff_reason == "rate_limit" and status.backoff_until is not None
        assert status.backoff_until > utcnow() + timedelta(seconds=RETRY_AFTER - 60), "not shortened"
        skipped = round_of("C")
        assert skipped is not None and "rate_limit" in skipped, "a third worker waits out the limit too"


def test_an_error_back_off_never_shortens_one_already_stored(db: Database) -> None:
    with registered(SharedLimitConnector):
        cc = Poller(db, _config(db)).connectors["sharedlimit"][0]
        later = utcnow() + timedelta(seconds=3000)
        with db.write() as session:  # another worker's long error back-off, many failures in
            session.add(ConnectorStatus(connector="sharedlimit", consecutive_failures=7, mentions_stored=0,
                                        backoff_until=later, backoff_reason="error"))
        until = record_failure(db, cc, "502 from the platform")
        status = connector_status(db, "sharedlimit")
        assert status is not None and status.backoff_reason == "error"
        assert status.backoff_until == until == later
