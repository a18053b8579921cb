"""An error back-off runs from the start of the failed round, as the schedule counts its interval: the
round due one interval after a failed one polls. Until 2026-12-07 it ran from the end of the failed
poll, so that round came a moment early and was skipped: waits of 2, 3, 5, 9 intervals, not 1, 2, 4, 8."""

from __future__ import annotations

from datetime import timedelta

from monitor.config import Config
from monitor.models import utcnow
from monitor.poller import DUE_FRACTION, Poller, poll_connector
from monitor.storage import Database
from tests.connector_doubles import BrokenConnector, registered
from tests.fault_tools import connector_status

INTERVAL = 60.0


def test_the_round_an_interval_after_a_failed_one_polls(db: Database) -> None:
    with registered(BrokenConnector):
        config = Config.from_dict({"brands": [{"name": "Acme", "keywords": ["acme"]}],
                                   "database": {"url": db.display_url},
                                   "connectors": {"broken": {"poll_interval_seconds": INTERVAL}}}, env={})
        poller = Poller(db, config)
        cc, connector = poller.connectors["broken"]

        def scheduled_round(started_ago: float) -> str | None:
            """A round the schedule started ``started_ago`` seconds back; why it was skipped, if it was."""
            report = poll_connector(db, cc, connector, poller.queries["broken"], owner=poller.worker_id,
                                    min_interval_seconds=INTERVAL * DUE_FRACTION,
                                    round_started=utcnow() - timedelta(seconds=started_ago))
            return report.skipped

        # A round that failed just now but started an interval and a second ago; the schedule started
        # the next one an interval after it, a second ago.
        assert scheduled_round(INTERVAL + 1) is None
        failed = connector_status(db, "broken")
        assert failed is not None and failed.backoff_reason == "error"
        assert scheduled_round(1) is None, "polled, not skipped as still backing off"
        again = connector_status(db, "broken")
        assert again is not None and again.consecutive_failures == 2
