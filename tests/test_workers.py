"""Several workers on one database: leases, take-over after a crash, the SQLite one-worker rule."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from connectors.base import FetchResult, Query
from monitor.cli import cli
from monitor.config import Config
from monitor.models import Mention
from monitor.poller import Poller, poll_connector
from monitor.storage import Database
from monitor.workers import WorkerConflict, claim_poll, recent_workers, release_poll, sqlite_worker_lock
from tests.connector_doubles import ScriptedConnector, mention, registered
from tests.fault_tools import wait_until

BRANDS = [{"name": f"Brand{i}", "keywords": [f"brand{i}"]} for i in range(6)]


class SlowCountingConnector(ScriptedConnector):
    """Counts fetches per query and notices two fetches of one query at the same time."""

    name = "slow"
    fetches: Counter[str] = Counter()
    active: set[str] = set()
    overlaps = 0
    lock = threading.Lock()

    def fetch(self, query: Query, cursor: str | None) -> FetchResult:
        cls = type(self)
        with cls.lock:
            if query.key in cls.active:
                cls.overlaps += 1
            cls.active.add(query.key)
            cls.fetches[query.key] += 1
        time.sleep(0.05)
        with cls.lock:
            cls.active.discard(query.key)
        n = cls.fetches[query.key]
        return FetchResult([mention("slow", hash((query.key, n)) % 10**9, external_id=f"{query.key}-{n}")],
                           next_cursor=str(n))


def test_two_workers_never_poll_the_same_query_at_once_nor_twice_per_interval(db: Database) -> None:
    SlowCountingConnector.fetches, SlowCountingConnector.active, SlowCountingConnector.overlaps = Counter(), set(), 0
    with registered(SlowCountingConnector):
        config = Config.from_dict({"brands": BRANDS, "connectors": {"slow": {"poll_interval_seconds": 3600}},
                                   "sentiment": {"backend": "none"}}, env={})
        workers = [Poller(db, config, worker_id=f"worker-{i}") for i in range(2)]
        reports = []

        def work(poller: Poller) -> None:
            cc, connector = poller.connectors["slow"]
            reports.append(poll_connector(db, cc, connector, poller.queries["slow"], owner=poller.worker_id,
                                          min_interval_seconds=3600 * 0.8))

        threads = [threading.Thread(target=work, args=(w,)) for w in workers]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
    assert SlowCountingConnector.overlaps == 0
    assert sorted(SlowCountingConnector.fetches.values()) == [1] * len(BRANDS)  # each query once in all
    assert sum(r.pages for r in reports) == len(BRANDS)
    assert sum(r.leased_elsewhere for r in reports) == len(BRANDS)  # what one did, the other left alone


def test_a_dead_workers_lease_expires_and_is_taken_over(db: Database) -> None:
    config = Config.from_dict({"brands": BRANDS[:1], "connectors": {"sample": {}}, "sentiment": {"backend": "none"}},
                              env={})
    query_id = Poller(db, config).queries["sample"][0][1]
    # A lease long enough that a slow database round trip cannot outlast it (0.3 s once did, in CI).
    assert claim_poll(db, query_id, "dead-worker", lease_seconds=2, min_interval_seconds=0)
    assert not claim_poll(db, query_id, "live-worker", lease_seconds=10, min_interval_seconds=0)
    time.sleep(2.1)
    assert claim_poll(db, query_id, "live-worker", lease_seconds=10, min_interval_seconds=0)
    release_poll(db, query_id, "live-worker")
    assert not claim_poll(db, query_id, "other", lease_seconds=10, min_interval_seconds=60)  # just polled
    assert claim_poll(db, query_id, "other", lease_seconds=10, min_interval_seconds=0)


def test_sqlite_allows_one_worker_with_a_clear_message(sqlite_db: Database, tmp_path: Path) -> None:
    held = sqlite_worker_lock(sqlite_db)
    assert held is not None
    with pytest.raises(WorkerConflict, match="SQLite supports one worker.*use PostgreSQL"):
        sqlite_worker_lock(sqlite_db)
    held.close()  # the lock goes with its holder
    again = sqlite_worker_lock(sqlite_db)
    assert again is not None
    again.close()


def _write_config(path: Path, url: str, delay: float) -> None:
    path.write_text(
        "".join(f'[[brands]]\nname = "{b["name"]}"\nkeywords = {json.dumps(b["keywords"])}\n' for b in BRANDS[:2])
        + f'[database]\nurl = "{url}"\n[sentiment]\nbackend = "none"\n'
        + f"[connectors.sample]\ntotal_per_query = 30\npage_size = 3\ndelay_seconds = {delay}\n"
        + "poll_interval_seconds = 1\ntimeout_seconds = 2\n"
    )


def _count(db: Database) -> tuple[int, int]:
    with db.read() as session:
        return (session.scalar(select(func.count()).select_from(Mention)) or 0,
                session.scalar(select(func.count(func.distinct(Mention.external_id)))) or 0)


def _run(config: Path, home: Path, *extra: str) -> subprocess.Popen:
    env = {**os.environ, "MENTIONDESK_HOME": str(home)}
    return subprocess.Popen([sys.executable, "-m", "monitor", "--config", str(config), "run", *extra], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_kill_9_of_a_worker_mid_poll_another_takes_over_nothing_lost_or_doubled(db: Database, tmp_path: Path) -> None:
    url = db.engine.url.render_as_string(hide_password=False)
    config = tmp_path / "mentiondesk.toml"
    _write_config(config, url, delay=0.3)
    first = _run(config, tmp_path / "home")
    deadline = time.monotonic() + 60
    while _count(db)[0] < 4 and time.monotonic() < deadline:
        time.sleep(0.05)
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    assert 0 < _count(db)[0] < 60

    _write_config(config, url, delay=0)
    health = tmp_path / "health.json"
    second = _run(config, tmp_path / "home", "--max-seconds", "20", "--health-file", str(health))
    deadline = time.monotonic() + 40
    while _count(db)[0] < 60 and time.monotonic() < deadline:
        time.sleep(0.2)
    second.send_signal(signal.SIGTERM)
    out, err = second.communicate(timeout=30)
    assert second.returncode == 0, err
    assert _count(db) == (60, 60)
    state = json.loads(health.read_text())
    assert state["state"] == "stopped" and state["connectors"]["sample"]["last_ok"] is True
    states = [w.state(w.heartbeat_at) for w in recent_workers(db)]
    assert "stopped" in states and len(states) == 2  # the killed one never said goodbye


CHECK_HEALTH = Path(__file__).resolve().parents[1] / "deploy" / "check-health"


def test_a_second_poller_on_sqlite_is_refused_and_the_health_probe_follows_the_worker(tmp_path: Path) -> None:
    config = tmp_path / "mentiondesk.toml"
    # Pages of 0.05 s: the worker's first round (20 pages) ends within a second or so, rather than 10 s of sleeps.
    _write_config(config, f"sqlite:///{tmp_path / 'one.db'}", delay=0.05)
    health = tmp_path / "run" / "worker.json"
    lock = tmp_path / "one.db.worker.lock"
    worker = _run(config, tmp_path / "home", "--health-file", str(health))
    try:
        # Until it holds the lock (its pid in the file) and wrote its first health file: half a second's
        # sleep after the lock file appeared raced a slow start, and the probe found no health file.
        wait_until(lambda: lock.exists() and lock.read_text().startswith("pid") and health.exists(), 60,
                   "the worker to hold the lock and write its health file")
        result = CliRunner().invoke(cli, ["--config", str(config), "poll", "--once"])
        assert result.exit_code == 1
        assert "SQLite supports one worker" in result.output and f"pid {worker.pid}" in result.output
        assert subprocess.run([str(CHECK_HEALTH), str(health), "60"]).returncode == 0
        # Per connector: the last round, its outcome and the lag since the last successful one.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            connectors = json.loads(health.read_text())["connectors"]
            if connectors and all(c.get("last_success_at") for c in connectors.values()):
                break
            time.sleep(0.2)
        for c in connectors.values():
            assert c["last_ok"] is True and c["last_error"] is None and c["last_poll_at"]
            assert 0 <= c["lag_seconds"] < 30
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.communicate(timeout=30)
    probe = subprocess.run([str(CHECK_HEALTH), str(health), "60"], capture_output=True, text=True)
    assert probe.returncode == 1 and "not running" in probe.stderr
