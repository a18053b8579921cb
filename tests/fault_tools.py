"""Reusable pieces for the fault-injection tests: a TCP proxy to cut, workers to run, the checks."""

from __future__ import annotations

import selectors
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from connectors.emulators import DEMO_BRAND, DEMO_SECRETS, DEMO_X_HANDLE, RunningEmulators, start_emulators
from connectors.emulators.server import Request, Response
from monitor.classify import CLAIM_SECONDS
from monitor.config import Config
from monitor.models import ConnectorStatus, Mention
from monitor.pipeline import Pipeline
from monitor.poller import PollScheduler
from monitor.storage import Database
from tests.connector_doubles import T0
from tests.emulator_fixtures import BACKLOG_END


@pytest.fixture(name="emulators")
def small_emulators() -> Iterator[RunningEmulators]:
    """The emulators with a small backlog and no X rate limit (a test injects the 429s it wants); a
    module importing this fixture has it in place of the shared one."""
    with start_emulators(seed=7, backlog=30, backlog_end=BACKLOG_END, x_rate_limit=10**9) as running:
        yield running


def url_of(db: Database) -> str:
    """The database's URL with its password, for a worker to open its own engine."""
    return db.engine.url.render_as_string(hide_password=False)


def wait_until(predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.05) -> Any:
    """Poll ``predicate`` until it returns something truthy; fail the test naming ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


# -- the network ------------------------------------------------------------------------------


@contextmanager
def postgres_through_proxy(postgres_url: str) -> Iterator[tuple["TcpProxy", str]]:
    """A :class:`TcpProxy` to the server of `postgres_url`, and that URL through the proxy: a worker
    given it loses the server on ``down()`` as in a restart, while other sessions keep it."""
    url = make_url(postgres_url)
    with TcpProxy(url.host or "127.0.0.1", url.port or 5432) as proxy:
        yield proxy, url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)


class TcpProxy:
    """Forwards 127.0.0.1:<port> to ``target``; the test cuts and restores the link.

    * :meth:`blackhole`: connections stay open but bytes vanish (one or both ways), so clients wait
      for their timeouts, as when a route or firewall drops packets;
    * :meth:`down`: every open connection is reset and new ones are closed at once, as when the
      server restarts;
    * :meth:`restore`: traffic flows again (clients must reconnect or resend on their own).
    """

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._pairs: set[tuple[socket.socket, socket.socket]] = set()
        self._drop_requests = self._drop_responses = self._down = False
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._accept, name="tcp-proxy", daemon=True)

    def start(self) -> "TcpProxy":
        self._thread.start()
        return self

    def blackhole(self, requests: bool = True, responses: bool = True) -> None:
        with self._lock:
            self._drop_requests, self._drop_responses = requests, responses

    def down(self) -> None:
        with self._lock:
            self._down = True
            pairs, self._pairs = self._pairs, set()
        for pair in pairs:
            _reset(*pair)

    def restore(self) -> None:
        with self._lock:
            self._drop_requests = self._drop_responses = self._down = False

    def stop(self) -> None:
        self._stopping.set()
        self.down()
        self._thread.join(5)
        self._listener.close()

    def __enter__(self) -> "TcpProxy":
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if self._down:
                _reset(client)
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                _reset(client)
                continue
            pair = (client, upstream)
            with self._lock:
                self._pairs.add(pair)
            threading.Thread(target=self._pump, args=pair, name="tcp-proxy-pump", daemon=True).start()

    def _pump(self, client: socket.socket, upstream: socket.socket) -> None:
        selector = selectors.DefaultSelector()
        selector.register(client, selectors.EVENT_READ, upstream)
        selector.register(upstream, selectors.EVENT_READ, client)
        try:
            while not self._stopping.is_set():
                for key, _ in selector.select(0.05):
                    source: socket.socket = key.fileobj  # type: ignore[assignment]
                    data = source.recv(65536)
                    if not data:
                        return
                    dropped = self._drop_requests if source is client else self._drop_responses
                    if not dropped:
                        key.data.sendall(data)
        except (OSError, ValueError):
            return  # reset by down(), or the other side went away
        finally:
            selector.close()
            with self._lock:
                self._pairs.discard((client, upstream))
            _reset(client, upstream)


def _reset(*socks: socket.socket) -> None:
    for sock in socks:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            sock.close()
        except OSError:
            pass


def read_request_then_reset(conn: socket.socket) -> bytes:
    """Read a request's head from ``conn``, then reset the connection instead of answering: as far as the client
    can tell, the request went out and the platform may have acted on it. The bytes read."""
    conn.settimeout(5)
    received = b""
    while b"\r\n\r\n" not in received:  # the request's head, at least, has arrived
        chunk = conn.recv(65536)
        if not chunk:
            break
        received += chunk
    _reset(conn)
    return received


def named_database(postgres_url: str) -> Database:
    """The database at ``postgres_url``, its connections carrying a name of their own (``application_name``), so a
    test can see one of them wait for a lock (`waiting_for_a_lock`)."""
    application = f"mentiondesk-test-{uuid.uuid4().hex[:12]}"
    return Database.open(make_url(postgres_url).update_query_dict({"application_name": application})
                         .render_as_string(hide_password=False))


def waiting_for_a_lock(db: Database) -> bool:
    """Whether one of the connections of ``db`` (a `named_database`) waits for a lock on the server."""
    with db.engine.connect() as conn:
        return bool(conn.scalar(text("SELECT count(*) FROM pg_stat_activity WHERE application_name = :application "
                                     "AND wait_event_type = 'Lock'"),
                                {"application": db.engine.url.query["application_name"]}))


def host_port(url: str) -> tuple[str, int]:
    host, port = url.split("//", 1)[1].split("/", 1)[0].rsplit(":", 1)
    return host, int(port)


@dataclass
class RecordedRequest:
    at: float
    method: str
    path: str
    query: dict[str, str]
    status: int
    headers: dict[str, str]


@dataclass
class RequestLog:
    """Wraps an emulator app to remember each request's time, path and answer (and to corrupt some)."""

    app: Callable[[Request], Response]
    entries: list[RecordedRequest] = field(default_factory=list)
    # Applied to the emulator's answer before it is sent (a fault the emulator cannot aim).
    rewrite: Callable[[Request, Response], Response] | None = None

    def __call__(self, request: Request) -> Response:
        response = self.app(request)
        if self.rewrite is not None:
            response = self.rewrite(request, response)
        self.entries.append(RecordedRequest(time.time(), request.method, request.path, dict(request.query),
                                            response.status, dict(response.headers)))
        return response


class Publisher(threading.Thread):
    """Publishes ``per_second`` X posts about the brand until stopped: load while a fault hits."""

    def __init__(self, emulators: RunningEmulators, per_second: float) -> None:
        super().__init__(name="publisher", daemon=True)
        self.emulators, self.per_second = emulators, per_second
        self.published: set[str] = set()
        self._stop_event = threading.Event()

    def run(self) -> None:
        owed = 0.0
        while not self._stop_event.wait(0.1):
            owed += self.per_second * 0.1
            self.published.update(self.emulators.x.add_posts(int(owed)))
            owed -= int(owed)

    def __enter__(self) -> "Publisher":
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop_event.set()
        self.join(5)


def rewrite_answers(server: Any, rewrite: Callable[[Request, Response], Response] | None = None) -> RequestLog:
    """Wrap an emulator server's app: every request is logged, and ``rewrite`` may change each answer."""
    log = RequestLog(server.app, rewrite=rewrite)
    server.app = log
    return log


def record_requests(emulators: RunningEmulators) -> RequestLog:
    return rewrite_answers(emulators.x_server)


# -- the worker --------------------------------------------------------------------------------


def x_worker_config(database_url: str, x_url: str, *, brands: list[dict[str, Any]] | None = None,
                    **x_settings: Any) -> Config:
    """Polls the X emulator every half second, with small timeouts so a fault shows within seconds."""
    settings = {"api_base_url": x_url, "poll_interval_seconds": 0.5, "timeout_seconds": 5, "page_size": 10,
                "first_run_pages": 20, "max_pages_per_poll": 20, "request_timeout_seconds": 1.0,
                "max_retries": 2, "retry_backoff_seconds": 0.01, **x_settings}
    return Config.from_dict({
        "database": {"url": database_url},
        "brands": brands or [{"name": DEMO_BRAND, "keywords": [DEMO_BRAND], "handles": {"x": DEMO_X_HANDLE}}],
        "sentiment": {"backend": "none"},
        "connectors": {"x": settings},
    }, env={f"MENTIONDESK_X_{k.upper()}": v for k, v in DEMO_SECRETS["x"].items()})


class RunningWorker:
    """What ``mentiondesk run`` runs (a :class:`PollScheduler` with its pipeline), on a thread of the test.

    In-process so a test can shorten the heartbeat and reach the worker's own engine; the worker
    has its own engine (and so its own connections) from the URL it is given, like a separate process.
    """

    def __init__(self, database_url: str, config: Config, health_file: Path) -> None:
        self.db = Database.open(database_url)
        self.scheduler = PollScheduler(self.db, config, pipeline=Pipeline.from_config(self.db, config),
                                       health_file=health_file)
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="worker-under-test", daemon=True)

    def _run(self) -> None:
        try:
            self.scheduler.run()
        except BaseException as exc:  # noqa: BLE001 - reported by assert_alive
            self.error = exc

    def __enter__(self) -> "RunningWorker":
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.scheduler.stop_event.set()
        self._thread.join(30)
        self.db.dispose()

    def assert_alive(self) -> None:
        assert self._thread.is_alive() and self.error is None, f"the worker stopped on its own: {self.error!r}"

    def stop(self) -> None:
        """Stop as on SIGTERM; the worker must finish cleanly."""
        self.assert_alive()
        self.scheduler.stop_event.set()
        self._thread.join(30)
        assert not self._thread.is_alive() and self.error is None, f"the worker did not stop cleanly: {self.error!r}"


# -- what must hold after every fault ----------------------------------------------------------


def stored_x_ids(db: Database) -> list[str]:
    with db.read() as session:
        return list(session.scalars(select(Mention.external_id).where(Mention.platform == "x")))


def served_x_ids(emulators: RunningEmulators) -> set[str]:
    """What the X emulator served; the connector drops retweets on purpose (exclude_retweets)."""
    return {i for i in set(emulators.x.served_ids) if not emulators.x.is_retweet(i)}


def expected_x_ids(emulators: RunningEmulators, published: set[str], keywords: tuple[str, ...] = (DEMO_BRAND,)) -> set[str]:
    """The published posts a lossless poller must store: those naming the brand, retweets aside."""
    return {i for i in published if not emulators.x.is_retweet(i)
            and any(k.lower() in emulators.x.text_of(i).lower() for k in keywords)}


def polled_since(db: Database, since: float) -> bool:
    """A whole poll round started after ``since`` (epoch seconds) and succeeded."""
    status = connector_status(db)
    return bool(status and status.consecutive_failures == 0 and status.last_poll_started_at
                and status.last_poll_started_at.timestamp() > since and status.last_success_at
                and status.last_success_at >= status.last_poll_started_at)


def wait_until_read(db: Database, since: float, expected: set[str], timeout: float = 30) -> None:
    """Wait for a successful round that started after ``since`` (the last post), then up to ``timeout``
    seconds for every expected post to be stored: a round reads at most max_pages_per_poll pages, so
    the backlog a fault leaves takes several rounds on a slow machine. A post still missing after
    that is for assert_nothing_lost_or_doubled to name."""
    wait_until(lambda: polled_since(db, since), 20, "a successful round after the last post")
    deadline = time.monotonic() + timeout
    while expected - set(stored_x_ids(db)) and time.monotonic() < deadline:
        time.sleep(0.05)


def assert_nothing_lost_or_doubled(db: Database, emulators: RunningEmulators, expected: set[str]) -> None:
    """Every post served (and every one expected) is stored, none twice. Call after a successful round."""
    stored = stored_x_ids(db)
    assert len(stored) == len(set(stored)), "a mention was stored twice"
    assert served_x_ids(emulators) - set(stored) == set(), "served mentions were lost"
    assert expected - set(stored) == set(), "published posts were never fetched"


def connector_status(db: Database, name: str = "x") -> ConnectorStatus | None:
    with db.read() as session:
        return session.get(ConnectorStatus, name)


# -- a classify worker with a stand-in model ---------------------------------------------------


def start_classify_worker(database_url: str, log: Path, batch_size: int = 4, seconds_per_batch: float = 0.1,
                          claim_seconds: float = CLAIM_SECONDS) -> subprocess.Popen:
    """``python -m tests.classify_worker``: the real claim-and-store path, a slow stand-in model."""
    with log.open("w") as out:
        return subprocess.Popen([sys.executable, "-m", "tests.classify_worker", database_url,
                                 "--batch-size", str(batch_size), "--seconds-per-batch", str(seconds_per_batch),
                                 "--claim-seconds", str(claim_seconds)],
                                cwd=Path(__file__).resolve().parents[1], stdout=out, stderr=subprocess.STDOUT, text=True)


def add_unclassified(db: Database, count: int, text: str = "text {n}") -> None:
    """`count` new mentions, none classified yet; `text` is formatted with each one's number."""
    with db.write() as session:
        session.add_all(Mention(platform="sample", external_id=str(n), text=text.format(n=n), created_at=T0, raw={})
                        for n in range(count))


def count_classified(db: Database) -> tuple[int, int]:
    with db.read() as session:
        total = session.scalar(select(func.count()).select_from(Mention)) or 0
        done = session.scalar(select(func.count()).where(Mention.classified_at.is_not(None))) or 0
    return total, done

