"""Two workers share a connector. One is told to wait (429, retry after 900 s) while the other's page is
in flight; that page then succeeds. The rate limit still holds for every worker: until 2026-12-07 the
success cleared it, and all workers went straight back into the used-up window (on X, billed reads)."""

from __future__ import annotations

from collections.abc import Callable

from connectors.base import (
    Connector,
    ConnectorSettings,
    FetchResult,
    Query,
    RateLimited,
)
from monitor.config import Config
from monitor.models import utcnow
from monitor.poller import Poller, poll_connector
from monitor.storage import Database
from tests.connector_doubles import mention, registered
from tests.fault_tools import connector_status


class SharedLimitConnector(Connector):
    """One client limit for both brands: Alpha's query is refused; Beta's page runs ``in_flight`` first."""

    name = "sharedlimit"

    def __init__(self, settings: ConnectorSettings, secrets: dict[str, str] | None = None) -> None:
        super().__init__(settings, secrets)
        self.in_flight: Callable[[], None] = lambda: None

    def fetch(self, query: Query, cursor: str | None) -> FetchResult:
        if query.key == "alpha":
            raise RateLimited("429 Too Many Requests", retry_after=900)
        self.in_flight()
        return FetchResult([mention(self.name, 1)], next_cursor="1")


def test_another_workers_success_leaves_the_rate_limit_in_place(db: Database) -> None:
    with registered(SharedLimitConnector):
        brands = [{"name": "Alpha", "keywords": ["a"]}, {"name": "Beta", "keywords": ["b"]}]
        config = Config.from_dict({"brands": brands, "database": {"url": db.display_url},
                                   "connectors": {"sharedlimit": {}}}, env={})
        workers = {name: Poller(db, config, worker_id=name) for name in ("A", "B", "C")}

        def round_of(worker: str, brand: str | None = None) -> str | None:
            poller = workers[worker]
            cc, connector = poller.connectors["sharedlimit"]
            queries = [(q, i) for q, i in poller.queries["sharedlimit"] if brand is None or q.key == brand]
            report = poll_connector(db, cc, connector, queries, owner=worker)
            return report.error or report.skipped

        limited: list[str | None] = []
        b_connector = workers["B"].connectors["sharedlimit"][1]
        assert isinstance(b_connector, SharedLimitConnector)
        b_connector.in_flight = lambda: limited.append(round_of("A", "alpha"))
        assert round_of("B", "beta") is None, "B's page was stored and its round succeeded"
        assert limited and "rate limited" in (limited[0] or "")
        status = connector_status(db, "sharedlimit")
        assert status is not None and status.last_success_at is not None
        assert status.backoff_reason == "rate_limit" and status.backoff_until is not None
        assert status.backoff_until > utcnow()
        skipped = round_of("C")
        assert skipped is not None and "rate_limit" in skipped, "a third worker waits out the limit too"
