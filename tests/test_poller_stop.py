"""`run` told to stop (SIGINT/SIGTERM) stops after the page in flight: no further page, no further
query, and what it fetched is stored with its cursor, so the next poll goes on from there."""

from __future__ import annotations

import threading

from connectors.emulators import DEMO_BRAND, DEMO_X_HANDLE, RunningEmulators
from connectors.emulators.server import Request, Response
from monitor.poller import PollScheduler, poll_once
from monitor.storage import Database
from tests.fault_tools import (
    assert_nothing_lost_or_doubled,
    rewrite_answers,
    served_x_ids,
    stored_x_ids,
    url_of,
    x_worker_config,
)


def test_a_stop_during_a_page_ends_the_round_after_that_page_and_nothing_is_lost(
        db: Database, emulators: RunningEmulators) -> None:
    # Two brands, several pages each: a round would go on for many more requests.
    config = x_worker_config(url_of(db), emulators.x_url, request_timeout_seconds=30, timeout_seconds=60,
                             brands=[{"name": DEMO_BRAND, "keywords": [DEMO_BRAND], "handles": {"x": DEMO_X_HANDLE}},
                                     {"name": "Globex", "keywords": ["globex"]}])
    page_in_flight, released = threading.Event(), threading.Event()
    asked_after_release: list[str] = []

    def hold_the_first_search_page(request: Request, response: Response) -> Response:
        if released.is_set():
            asked_after_release.append(request.path)
        elif request.path == "/2/tweets/search/recent":
            page_in_flight.set()
            released.wait(60)
        return response

    rewrite_answers(emulators.x_server, hold_the_first_search_page)
    scheduler = PollScheduler(db, config)
    running = threading.Thread(target=scheduler.run, kwargs={"max_seconds": 120})
    running.start()
    try:
        assert page_in_flight.wait(60), "the worker never asked for a page"
        scheduler.stop_event.set()  # what SIGTERM does
    finally:
        released.set()
        running.join(60)
    assert not running.is_alive()
    assert asked_after_release == [], "no page or query after the stop"
    assert set(stored_x_ids(db)) == served_x_ids(emulators) != set(), "the page in flight is stored"

    poll_once(db, config)  # the next worker goes on from the stored cursor
    assert_nothing_lost_or_doubled(db, emulators, set())
