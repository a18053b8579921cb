import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from monitor.cli import cli
from monitor.config import Config
from monitor.models import ConnectorStatus, Mention, utcnow
from monitor.poller import PollScheduler, poll_once
from monitor.storage import Database
from tests.connector_doubles import (
    BrokenConnector,
    CrashingConnector,
    HangingConnector,
    LimitedConnector,
    ScriptedConnector,
    mention,
    registered,
)

BRANDS = [{"name": "Acme", "keywords": ["acme"]}, {"name": "Globex", "keywords": ["globex"]}]


def config(db: Database, connectors: dict, env: dict | None = None) -> Config:
    return Config.from_dict({"brands": BRANDS, "connectors": connectors, "database": {"url": db.display_url}},
                            env=env or {})


def stored(db: Database) -> dict[str, int]:
    with db.read() as session:
        return dict(session.execute(select(Mention.platform, func.count()).group_by(Mention.platform)).all())


def status(db: Database, name: str) -> ConnectorStatus:
    with db.read() as session:
        row = session.get(ConnectorStatus, name)
        assert row is not None
        return row


@pytest.fixture(autouse=True)
def _doubles() -> None:
    ScriptedConnector.pages = [[mention("scripted", n) for n in range(p * 3, p * 3 + 3)] for p in range(3)]
    ScriptedConnector.units_per_page = 0
    with registered(ScriptedConnector, BrokenConnector, CrashingConnector, LimitedConnector, HangingConnector):
        yield


def test_a_failing_connector_does_not_stop_the_others(db: Database) -> None:
    cfg = config(db, {"scripted": {}, "broken": {}, "crashing": {}, "sample": {"total_per_query": 10}})
    reports = {r.connector: r for r in poll_once(db, cfg)}
    assert reports["scripted"].ok and reports["scripted"].stored == 9  # 3 pages, one brand's worth (dedupe)
    assert reports["sample"].ok and reports["sample"].stored == 20
    assert not reports["broken"].ok and "platform said no" in (reports["broken"].error or "")
    assert not reports["crashing"].ok and "unexpected KeyError" in (reports["crashing"].error or "")
    assert stored(db) == {"scripted": 9, "sample": 20}
    broken = status(db, "broken")
    assert broken.consecutive_failures == 1 and broken.backoff_reason == "error"
    assert "platform said no" in (broken.last_error or "") and broken.backoff_until is not None
    ok = status(db, "sample")
    assert ok.last_success_at is not None and ok.consecutive_failures == 0 and ok.mentions_stored == 20


def test_errors_back_off_longer_each_time_and_success_clears_them(db: Database) -> None:
    cfg = config(db, {"broken": {"poll_interval_seconds": 10}, "sample": {}})
    delays = []
    for _ in range(3):
        poll_once(db, cfg, only=["broken"])
        s = status(db, "broken")  # a back-off runs from the start of the failed round
        delays.append((s.backoff_until - s.last_poll_started_at).total_seconds())
    assert delays == [10, 20, 40]
    with db.write() as session:  # failing for hours: the last back-off near the cap, which must hold
        row = session.get_one(ConnectorStatus, "broken")
        row.backoff_until = row.last_poll_started_at + timedelta(seconds=3000)
    poll_once(db, cfg, only=["broken"])
    s = status(db, "broken")
    assert s.consecutive_failures == 4 and (s.backoff_until - s.last_poll_started_at).total_seconds() == 3600


def test_rate_limit_is_honoured_even_by_a_one_off_poll(db: Database) -> None:
    cfg = config(db, {"limited": {}, "sample": {}})
    first = {r.connector: r for r in poll_once(db, cfg)}
    assert "rate limited" in (first["limited"].error or "")
    s = status(db, "limited")
    assert s.backoff_reason == "rate_limit"
    assert 890 <= (s.backoff_until - s.last_error_at).total_seconds() <= 900
    second = {r.connector: r for r in poll_once(db, cfg)}
    assert second["limited"].ok and second["limited"].skipped and "rate_limit" in second["limited"].skipped
    assert status(db, "limited").consecutive_failures == 1


def test_a_hanging_connector_times_out_alone(db: Database) -> None:
    HangingConnector.release.clear()
    cfg = config(db, {"hanging": {"timeout_seconds": 0.5}, "sample": {"total_per_query": 5}})
    try:
        reports = {r.connector: r for r in poll_once(db, cfg)}
    finally:
        HangingConnector.release.set()
        for thread in threading.enumerate():
            if thread.name == "poll-hanging":
                thread.join(10)
    assert "timed out after 0.5s" in (reports["hanging"].error or "")
    assert reports["sample"].ok and stored(db) == {"sample": 10}


def test_daily_read_cap_stops_billable_reads(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    # Reads counted on a pinned day: UTC midnight passing mid-test started a fresh count (3 pages, not 2).
    day = [utcnow()]
    monkeypatch.setattr("monitor.ingest.utcnow", lambda: day[0])
    ScriptedConnector.units_per_page = 3
    cfg = config(db, {"scripted": {"daily_read_cap": 5}})
    report = poll_once(db, cfg)[0]
    assert report.ok and report.pages == 2 and "daily read cap of 5 reached" in (report.skipped or "")
    again = poll_once(db, cfg)[0]
    assert again.pages == 0 and "daily read cap" in (again.skipped or "")
    day[0] += timedelta(days=1)
    assert poll_once(db, cfg)[0].pages > 0  # a new day, a new cap


def test_secrets_are_scrubbed_from_recorded_errors(db: Database) -> None:
    BrokenConnector.message = "401 for https://api.example/?token=tok-123456"
    try:
        cfg = config(db, {"broken": {}, "sample": {}}, env={"MENTIONDESK_BROKEN_TOKEN": "tok-123456"})
        report = poll_once(db, cfg, only=["broken"])[0]
    finally:
        BrokenConnector.message = "platform said no"
    assert "tok-123456" not in (report.error or "") and "***" in (report.error or "")
    assert "tok-123456" not in (status(db, "broken").last_error or "")


def test_poll_once_cli_exits_non_zero_when_a_connector_failed(tmp_path: Path) -> None:
    path = tmp_path / "mentiondesk.toml"
    path.write_text('[[brands]]\nname = "Acme"\nkeywords = ["acme"]\n[sentiment]\nbackend = "none"\n'
                    '[connectors.sample]\n[connectors.broken]\n')
    failed = CliRunner().invoke(cli, ["--config", str(path), "poll", "--once"])
    assert failed.exit_code == 1
    assert "broken: FAILED: acme: platform said no" in failed.output
    assert "sample: ok, 60 new of 60 fetched" in failed.output
    only_ok = CliRunner().invoke(cli, ["--config", str(path), "poll", "--once", "--connector", "sample"])
    assert only_ok.exit_code == 0 and "sample: ok, 0 new of 0 fetched" in only_ok.output
    unknown = CliRunner().invoke(cli, ["--config", str(path), "poll", "--once", "--connector", "nope"])
    assert unknown.exit_code == 2 and "'nope' is not an enabled connector" in unknown.output


def test_scheduler_polls_each_connector_on_its_own_interval(db: Database) -> None:
    cfg = config(db, {"sample": {"poll_interval_seconds": 0.2, "total_per_query": 5}, "broken": {"poll_interval_seconds": 0.2}})
    scheduler = PollScheduler(db, cfg)

    def sample_polls() -> int:
        return sum(1 for r in list(scheduler.reports) if r.connector == "sample" and r.pages)

    # Until "sample" has been polled three times (not for a fixed time: a loaded CI host once fit
    # only two polls into 1.5 s), then stopped as SIGTERM stops it.
    running = threading.Thread(target=scheduler.run, kwargs={"max_seconds": 30})
    running.start()
    deadline = time.monotonic() + 30
    while sample_polls() < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    scheduler.stop_event.set()
    running.join(30)
    assert sample_polls() >= 3  # polled again and again while "broken" failed and backed off
    assert stored(db) == {"sample": 10}
    assert status(db, "broken").consecutive_failures >= 1


def test_run_stops_gracefully_on_sigterm(tmp_path: Path) -> None:
    path = tmp_path / "mentiondesk.toml"
    path.write_text('[[brands]]\nname = "Acme"\nkeywords = ["acme"]\n[sentiment]\nbackend = "none"\n'
                    '[connectors.sample]\npoll_interval_seconds = 0.5\npage_size = 5\ndelay_seconds = 0.2\n')
    env = {**os.environ, "MENTIONDESK_HOME": str(tmp_path / "home")}
    proc = subprocess.Popen([sys.executable, "-m", "monitor", "--config", str(path), "run"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    db = Database.open(f"sqlite:///{tmp_path / 'home' / 'mentiondesk.db'}")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not stored_safely(db):
        time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "stopped" in err
    # It finished the page it was on: every page is whole (5 mentions each).
    assert stored(db)["sample"] % 5 == 0


def stored_safely(db: Database) -> bool:
    try:
        return bool(stored(db))
    except Exception:  # the file or schema may not exist yet
        return False
