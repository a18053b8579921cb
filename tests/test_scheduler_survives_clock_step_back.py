"""`mentiondesk run` keeps polling, heartbeating and ticking when the host's wall clock steps back (the
autumn DST change, an NTP correction). The `schedule` library times jobs by the naive local time, so
until 2026-12-07 every job waited the step out: at the change to winter time, an hour with no poll and
the worker shown gone."""

from __future__ import annotations

import datetime as real_datetime
import threading
import types
from collections import Counter
from datetime import timedelta

import pytest
import schedule

from monitor import poller as poller_module
from monitor.config import Config
from monitor.poller import HEARTBEAT_SECONDS, PollScheduler
from monitor.storage import Database

INTERVAL = 60


class WallClock:
    """A naive local wall clock set by the test, read by `schedule` and the poller alike."""

    def __init__(self, now: real_datetime.datetime) -> None:
        self.now = now

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        clock = self

        class FakeDatetime(real_datetime.datetime):
            @classmethod
            def now(cls, tz: real_datetime.tzinfo | None = None) -> real_datetime.datetime:  # type: ignore[override]
                assert tz is None, "the scheduler reads the naive local time"
                return clock.now

        faked_module = types.ModuleType("datetime")
        faked_module.__dict__.update(real_datetime.__dict__)
        faked_module.datetime = FakeDatetime  # type: ignore[attr-defined]
        monkeypatch.setattr(schedule, "datetime", faked_module)
        monkeypatch.setattr(poller_module, "datetime", FakeDatetime)


class SimulatedSeconds(threading.Event):
    """The scheduler's stop event, whose every wait is one second on the wall clock: 119 seconds to
    02:59:59 summer time, then the clock steps back to 02:00 winter time, then five more minutes."""

    def __init__(self, clock: WallClock, runs: Counter[str]) -> None:
        super().__init__()
        self.clock, self.runs, self.waits = clock, runs, 0
        self.after_the_change: Counter[str] = Counter()

    def wait(self, timeout: float | None = None) -> bool:
        self.waits += 1
        self.clock.now += timedelta(seconds=1)
        if self.waits == 119:
            self.clock.now = real_datetime.datetime(2026, 10, 25, 2, 0)
            self.after_the_change = self.runs.copy()
        elif self.waits == 119 + 5 * 60:
            self.after_the_change = self.runs - self.after_the_change
            self.set()
        return self.is_set()


def test_jobs_keep_their_intervals_after_the_wall_clock_steps_back_an_hour(
        sqlite_db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = WallClock(real_datetime.datetime(2026, 10, 25, 2, 58))  # two minutes before summer time ends
    clock.install(monkeypatch)
    runs: Counter[str] = Counter()
    monkeypatch.setattr(PollScheduler, "_start", lambda self, name: runs.update(["poll"]))
    monkeypatch.setattr(PollScheduler, "_heartbeat", lambda self, stopped=False: runs.update(["heartbeat"]))
    config = Config.from_dict({"brands": [{"name": "Acme", "keywords": ["acme"]}],
                               "connectors": {"sample": {"poll_interval_seconds": INTERVAL}},
                               "database": {"url": sqlite_db.display_url}}, env={})
    scheduler = PollScheduler(sqlite_db, config)
    scheduler.stop_event = seconds = SimulatedSeconds(clock, runs)
    scheduler.run()

    # Five minutes after the change: a poll a minute and a heartbeat every HEARTBEAT_SECONDS.
    assert seconds.after_the_change["poll"] >= 4, "the connector polled on its interval"
    assert seconds.after_the_change["heartbeat"] >= 5 * 60 // HEARTBEAT_SECONDS - 1, "the heartbeat went on"
