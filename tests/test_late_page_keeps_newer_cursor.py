"""A worker whose page fetch outlives its poll lease, while another worker takes the query over and reads
on, stores its page's mentions but not its older cursor, and polls that query no further this round.
Until 2026-12-07 it wrote that cursor over the newer one, and the next poll read those pages again
(on X, billed reads)."""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy import select

from connectors.base import Connector, ConnectorSettings, FetchResult, Query
from monitor.config import Config
from monitor.ingest import read_cursor
from monitor.models import Mention
from monitor.poller import Poller, poll_connector
from monitor.storage import Database
from tests.connector_doubles import mention, registered

LEASE_SECONDS = 0.2  # the lease is timeout_seconds: a fetch must not take longer


class WalkConnector(Connector):
    """Page n+1 after cursor n. A connector with ``stall`` set runs it mid-fetch, then fetches a page
    of its own that says more are waiting."""

    name = "walk"

    def __init__(self, settings: ConnectorSettings, secrets: dict[str, str] | None = None) -> None:
        super().__init__(settings, secrets)
        self.stall: Callable[[], None] | None = None
        self.fetches = 0

    def fetch(self, query: Query, cursor: str | None) -> FetchResult:
        self.fetches += 1
        n = int(cursor or 0) + 1
        if self.stall is None:
            return FetchResult([mention(self.name, n)], next_cursor=str(n))
        self.stall()
        return FetchResult([mention(self.name, n), mention(self.name, 1000)], next_cursor=str(n), has_more=True)


def test_a_page_that_outlived_its_lease_leaves_the_newer_cursor(db: Database) -> None:
    with registered(WalkConnector):
        config = Config.from_dict({"brands": [{"name": "Acme", "keywords": ["acme"]}],
                                   "database": {"url": db.display_url},
                                   "connectors": {"walk": {"timeout_seconds": LEASE_SECONDS}}}, env={})
        slow, other = Poller(db, config, worker_id="slow"), Poller(db, config, worker_id="other")

        def poll(poller: Poller) -> int:
            cc, connector = poller.connectors["walk"]
            return poll_connector(db, cc, connector, poller.queries["walk"], owner=poller.worker_id).pages

        def lease_runs_out_and_the_other_worker_reads_on() -> None:
            time.sleep(LEASE_SECONDS * 2)
            assert [poll(other) for _ in range(3)] == [1, 1, 1], "the other worker took the query over"

        slow_connector = slow.connectors["walk"][1]
        assert isinstance(slow_connector, WalkConnector)
        slow_connector.stall = lease_runs_out_and_the_other_worker_reads_on
        assert poll(other) == 1
        assert poll(slow) == 1, "no further page once the query was another worker's"

    query_id = slow.queries["walk"][0][1]
    with db.read() as session:
        assert read_cursor(session, query_id) == "4", "the other worker's cursor, not the slow one's 2"
        stored = set(session.scalars(select(Mention.external_id).where(Mention.platform == "walk")))
    assert stored == {"1", "2", "3", "4", "1000"}, "the slow page's mentions are kept"
    assert slow_connector.fetches == 1
