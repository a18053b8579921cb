"""Every X answer X bills counts toward ``daily_read_cap``, whatever becomes of its page: refused by the
connector (a broken answer, one that cannot be read, a crash reading it) or its store rolled back. Until
2026-12-07 only stored pages counted, so such a page was fetched (and billed) again at every poll, and the
cap, the only brake on X spending, never tripped."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError

from connectors.emulators import RunningEmulators
from connectors.emulators.server import Request, Response
from connectors.x import XConnector
from monitor.ingest import count_usage, usage_today
from monitor.models import utcnow
from monitor.poller import ConnectorReport, poll_once
from monitor.storage import Database
from tests.emulator_fixtures import pipeline_config

CAP, PAGE_SIZE = 30, 10


class BilledAnswers:
    """The X emulator's answers to timeline reads (search, mentions), as sent: the posts X bills in those
    that can be read (``data`` plus ``includes.tweets``), and how many could not be read (cut short)."""

    def __init__(self, running: RunningEmulators) -> None:
        self.posts = self.unreadable = 0
        serve = running.x_server.app

        def counting(request: Request) -> Response:
            response = serve(request)
            timeline = "/search/" in request.path or request.path.endswith("/mentions")
            if timeline and response.status == 200:
                if response.raw_body is not None:
                    self.unreadable += 1
                else:
                    payload = response.payload
                    self.posts += len(payload.get("data", [])) + len(payload.get("includes", {}).get("tweets", []))
            return response

        running.x_server.app = counting

    @property
    def answers(self) -> tuple[int, int]:
        return self.posts, self.unreadable


@pytest.fixture(autouse=True)
def _one_day(monkeypatch: pytest.MonkeyPatch) -> None:
    # Reads counted on a pinned day: UTC midnight passing mid-test would start a fresh count.
    now = utcnow()
    monkeypatch.setattr("monitor.ingest.utcnow", lambda: now)


def _units_today(db: Database) -> int:
    with db.read() as session:
        return usage_today(session, "x")


def _poll_x(db: Database, running: RunningEmulators, **x: Any) -> ConnectorReport:
    config = pipeline_config(running, db, x={"daily_read_cap": CAP, "first_run_pages": 1, **x})
    return poll_once(db, config, only=["x"])[0]


def _refuse_search_answers(fault: str) -> Callable[[RunningEmulators, pytest.MonkeyPatch], None]:
    def refuse(running: RunningEmulators, monkeypatch: pytest.MonkeyPatch) -> None:
        running.x.inject(fault, times=1000, path_contains="/search/")  # type: ignore[arg-type]
    return refuse


def _crash_reading_search_posts(running: RunningEmulators, monkeypatch: pytest.MonkeyPatch) -> None:
    read_post = XConnector._mention

    def crash(self: XConnector, *args: Any) -> Any:
        if args[-1] == "search":
            raise RuntimeError("a post the connector did not foresee")
        return read_post(self, *args)

    monkeypatch.setattr(XConnector, "_mention", crash)


@pytest.mark.parametrize("refuse", [
    pytest.param(_refuse_search_answers("missing_fields"), id="no includes.users"),
    pytest.param(_refuse_search_answers("malformed_json"), id="malformed JSON"),
    pytest.param(_crash_reading_search_posts, id="a post that crashes the connector"),
])
def test_a_refused_x_page_counts_and_the_cap_stops_reading_it_again(
        emulators: RunningEmulators, db: Database, monkeypatch: pytest.MonkeyPatch,
        refuse: Callable[[RunningEmulators, pytest.MonkeyPatch], None]) -> None:
    billed = BilledAnswers(emulators)
    refuse(emulators, monkeypatch)
    reports = [_poll_x(db, emulators) for _ in range(4)]
    # Search fails every round while mentions works: no back-off, so only the cap stops the refetching.
    assert reports[0].error and "search: " in reports[0].error and reports[0].pages >= 2
    assert reports[-1].skipped == f"daily read cap of {CAP} reached"
    # Each answer counted as X bills it: its posts; one that cannot be read as the full page it may have held.
    assert _units_today(db) == billed.posts + PAGE_SIZE * billed.unreadable >= CAP
    served = billed.answers
    assert _poll_x(db, emulators).skipped == f"daily read cap of {CAP} reached"
    assert billed.answers == served  # capped: X is not read (nor billed) again today


def test_reads_of_a_page_whose_store_failed_still_count(emulators: RunningEmulators, db: Database,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    billed = BilledAnswers(emulators)

    def locked(*args: Any, **kwargs: Any) -> list[int]:
        raise OperationalError("INSERT INTO mentions", {}, Exception("database is locked"))

    monkeypatch.setattr("monitor.ingest.store_mentions", locked)
    reports = [_poll_x(db, emulators, mentions=False) for _ in range(4)]
    assert reports[0].error and "database is locked" in reports[0].error
    assert _units_today(db) == billed.posts >= CAP  # the page was rolled back, its count was not
    assert reports[-1].skipped == f"daily read cap of {CAP} reached"
    served = billed.answers
    assert _poll_x(db, emulators, mentions=False).skipped == f"daily read cap of {CAP} reached"
    assert billed.answers == served


def test_a_stored_page_counts_once(emulators: RunningEmulators, db: Database) -> None:
    billed = BilledAnswers(emulators)
    for _ in range(2):
        assert _poll_x(db, emulators, daily_read_cap=None, first_run_pages=3).ok
        emulators.x.add_posts(5)
    assert billed.posts > 0 and _units_today(db) == billed.posts


def test_concurrent_counts_add_up(db: Database) -> None:
    # Several workers count at once (PostgreSQL): each count is its own atomic upsert, none is lost.
    def count() -> None:
        for _ in range(20):
            count_usage(db, "x", 3)

    threads = [threading.Thread(target=count) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert _units_today(db) == 6 * 20 * 3
