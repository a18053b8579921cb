"""Platform faults hitting a running worker: the network cut, 429 storms, 5xx bursts, malformed payloads.

Each test runs the worker (``PollScheduler``, what ``mentiondesk run`` runs) against the X emulator
while posts keep arriving, injects one fault, and then checks what a user relies on: the worker
kept running and recovered by itself, and every post the emulator served is stored exactly once.
The connector-level behaviour of each fault has its own tests in test_x_connector.py.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from sqlalchemy import select

from connectors.emulators import DEMO_BRAND, DEMO_X_HANDLE, RunningEmulators
from connectors.emulators.server import Request, Response, truncated
from monitor.models import BrandQuery, Cursor
from monitor.storage import Database
from tests.fault_tools import (  # noqa: F401 - small_emulators is the emulators fixture here
    Publisher,
    RunningWorker,
    TcpProxy,
    assert_nothing_lost_or_doubled,
    connector_status,
    expected_x_ids,
    host_port,
    polled_since,
    record_requests,
    small_emulators,
    stored_x_ids,
    url_of,
    wait_until,
    wait_until_read,
    x_worker_config,
)

POSTS_PER_SECOND = 10



def _drain_and_check(db: Database, emulators: RunningEmulators, worker: RunningWorker, expected: set[str]) -> None:
    """Publishing has stopped: the backlog read, a clean stop, and nothing lost or doubled."""
    wait_until_read(db, time.time(), expected)
    worker.stop()
    assert_nothing_lost_or_doubled(db, emulators, expected)


def test_network_to_the_platform_cut_then_restored(sqlite_db: Database, emulators: RunningEmulators,
                                                   tmp_path: Path) -> None:
    with TcpProxy(*host_port(emulators.x_url)) as proxy:
        config = x_worker_config(url_of(sqlite_db), f"http://127.0.0.1:{proxy.port}", request_timeout_seconds=0.5)
        with RunningWorker(url_of(sqlite_db), config, tmp_path / "health.json") as worker:
            with Publisher(emulators, POSTS_PER_SECOND) as publisher:
                wait_until(lambda: len(stored_x_ids(sqlite_db)) >= 20, 20, "the first mentions")
                cut_at = time.time()
                proxy.blackhole()  # packets vanish: every request waits for its timeout
                wait_until(lambda: (s := connector_status(sqlite_db)) and s.last_error_at
                           and s.last_error_at.timestamp() > cut_at and "cannot reach X" in (s.last_error or ""),
                           20, "the timeout to be recorded as the connector's error")
                time.sleep(1.0)
                worker.assert_alive()
                restored_at = time.time()
                proxy.restore()
                wait_until(lambda: polled_since(sqlite_db, restored_at), 20, "a successful poll after the restore")
            _drain_and_check(sqlite_db, emulators, worker, expected_x_ids(emulators, publisher.published))


def test_429_storm_is_waited_out_not_hammered(sqlite_db: Database, emulators: RunningEmulators, tmp_path: Path) -> None:
    requests = record_requests(emulators)
    config = x_worker_config(url_of(sqlite_db), emulators.x_url)
    with RunningWorker(url_of(sqlite_db), config, tmp_path / "health.json") as worker:
        with Publisher(emulators, POSTS_PER_SECOND) as publisher:
            wait_until(lambda: len(stored_x_ids(sqlite_db)) >= 20, 20, "the first mentions")
            emulators.x.inject("rate_limit", times=3, retry_after=1, path_contains="/search/")
            wait_until(lambda: sum(r.status == 429 for r in requests.entries) == 3, 20, "the storm to be served")
            last_429 = max(r.at for r in requests.entries if r.status == 429)
            wait_until(lambda: polled_since(sqlite_db, last_429), 20, "a successful poll after the storm")
        _drain_and_check(sqlite_db, emulators, worker, expected_x_ids(emulators, publisher.published))
    # Each 429 said when the window resets: the worker sent nothing to X before then.
    limited = [r for r in requests.entries if r.status == 429]
    for answer in limited:
        reset = float(answer.headers["x-rate-limit-reset"])
        early = [r for r in requests.entries if answer.at < r.at < reset - 0.05]
        assert early == [], f"requests sent before the rate-limit window reset: {early}"


def test_5xx_burst_backs_off_then_recovers(sqlite_db: Database, emulators: RunningEmulators, tmp_path: Path) -> None:
    requests = record_requests(emulators)
    config = x_worker_config(url_of(sqlite_db), emulators.x_url)
    with RunningWorker(url_of(sqlite_db), config, tmp_path / "health.json") as worker:
        with Publisher(emulators, POSTS_PER_SECOND) as publisher:
            wait_until(lambda: len(stored_x_ids(sqlite_db)) >= 20, 20, "the first mentions")
            # Three GET attempts per request (max_retries = 2): the burst fails two polls in a row.
            emulators.x.inject("server_error", times=7, status=503)
            wait_until(lambda: sum(r.status == 503 for r in requests.entries) == 7, 20, "the burst to be served")
            last_503 = max(r.at for r in requests.entries if r.status == 503)
            wait_until(lambda: polled_since(sqlite_db, last_503), 20, "a successful poll after the burst")
        _drain_and_check(sqlite_db, emulators, worker, expected_x_ids(emulators, publisher.published))
    status = connector_status(sqlite_db)
    assert status is not None and "X server error 503" in (status.last_error or "")


def test_malformed_payload_mid_walk_is_read_again_and_other_queries_go_on(
        sqlite_db: Database, emulators: RunningEmulators, tmp_path: Path) -> None:
    corrupted: list[Request] = []

    def truncate_second_mentions_page(request: Request, response: Response) -> Response:
        if armed and not corrupted and "/mentions" in request.path and "pagination_token" in request.query:
            corrupted.append(request)
            return truncated(response)
        return response

    armed = False
    requests = record_requests(emulators)
    requests.rewrite = truncate_second_mentions_page
    brands = [{"name": DEMO_BRAND, "keywords": [DEMO_BRAND], "handles": {"x": DEMO_X_HANDLE}},
              {"name": "Coffee", "keywords": ["coffee"]}]
    config = x_worker_config(url_of(sqlite_db), emulators.x_url, brands=brands)
    with RunningWorker(url_of(sqlite_db), config, tmp_path / "health.json") as worker:
        wait_until(lambda: polled_since(sqlite_db, 0), 20, "the first round")
        armed = True
        published = set(emulators.x.add_posts(80))  # more @mentions than one page holds
        coffee = emulators.x.add_post("coffee before the standup")
        status = wait_until(lambda: (s := connector_status(sqlite_db)) and "malformed JSON" in (s.last_error or "") and s,
                            20, "the malformed page to be recorded")
        with sqlite_db.read() as session:
            cursor = session.scalar(select(Cursor.value).join(BrandQuery, BrandQuery.id == Cursor.query_id)
                                    .where(BrandQuery.key == DEMO_BRAND.lower()))
        # The round failed at page 2 of the mentions walk: the stored cursor still points at that
        # page, and the other brand's query was polled in the same round all the same.
        assert cursor is not None and json.loads(cursor)["mentions"]["next_token"] == corrupted[0].query["pagination_token"]
        assert coffee in stored_x_ids(sqlite_db), status.last_error
        emulators.x.inject("missing_fields", path_contains="/mentions")  # and the retry gets a broken page too
        wait_until(lambda: "lacks" in (connector_status(sqlite_db).last_error or ""), 20, "the missing fields error")
        fixed_at = time.time()
        wait_until(lambda: polled_since(sqlite_db, fixed_at), 20, "a successful poll after the bad pages")
        _drain_and_check(sqlite_db, emulators, worker, expected_x_ids(emulators, published) | {coffee})
