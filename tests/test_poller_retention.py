"""`[retention] raw_payload_days` prunes when `run` starts, not only a day later: a worker restarted
more often than daily (deploys, crashes under Restart=always) used to never prune."""

from __future__ import annotations

import threading
from datetime import timedelta

from monitor.config import Config
from monitor.models import Mention, utcnow
from monitor.poller import PollScheduler
from monitor.storage import Database
from tests.fault_tools import url_of, wait_until


def test_run_prunes_old_raw_payloads_at_start_up(db: Database) -> None:
    month_ago = utcnow() - timedelta(days=30)
    with db.write() as session:
        session.add(Mention(platform="sample", external_id="old", text="acme", raw={"payload": "x" * 100},
                            created_at=month_ago, fetched_at=month_ago))
    config = Config.from_dict({"database": {"url": url_of(db)}, "brands": [{"name": "Acme", "keywords": ["acme"]}],
                               "sentiment": {"backend": "none"}, "retention": {"raw_payload_days": 1},
                               "connectors": {"sample": {"total_per_query": 0}}}, env={})

    def pruned() -> bool:
        with db.read() as session:
            return session.get_one(Mention, 1).raw_pruned_at is not None

    scheduler = PollScheduler(db, config)
    running = threading.Thread(target=scheduler.run, kwargs={"max_seconds": 120})
    running.start()
    try:
        wait_until(pruned, 30, "the old raw payload to be pruned")
        wait_until(lambda: not any(t.name == "retention" for t in threading.enumerate()), 30, "the prune to end")
    finally:
        scheduler.stop_event.set()
        running.join(30)
    with db.read() as session:
        assert "payload" not in session.get_one(Mention, 1).raw
