"""Helpers for the connector tests: one connector through the poller, local servers that answer slowly or too
much, and a route that stops letting connects through."""

from __future__ import annotations

import gzip
import socket
import threading
import time
import zlib
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy import select

from connectors.base import ConnectorError, Query
from connectors.emulators import DEMO_BRAND
from monitor import models
from monitor.config import Config
from monitor.poller import poll_once
from monitor.storage import Database

FAST_RETRIES = {"max_retries": 2, "retry_backoff_seconds": 0.01}
QUERY = Query(key="orbisto", brand="Orbisto", keywords=("Orbisto",))
DRIP_FOR_SECONDS = 6.0  # then a dripping server stops, so that a reader that never gives up still ends


class QuietHandler(BaseHTTPRequestHandler):
    """A test server's request handler that writes no access log to stderr."""

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def serving(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """A local HTTP server answering with ``handler``, as its base URL; shut down afterwards."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def gzip_bomb(start: bytes, end: bytes, unpacked_bytes: int = 64 << 20) -> bytes:
    """A whole, valid gzipped answer that unpacks to about ``unpacked_bytes``: ``start``, blank space, ``end``."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    blank = b" " * (1 << 20)
    parts = [packer.compress(start), *(packer.compress(blank) for _ in range(unpacked_bytes >> 20))]
    return b"".join([*parts, packer.compress(end), packer.flush()])


class SlowOrOversizedAnswers(QuietHandler):
    """Answers a GET by the first part of its path: ``drip`` sends ``SLOW_ANSWER`` a byte at a time (``drip-503``
    the same under status 503), ``bomb`` sends ``BOMB`` gzipped, ``gzipped`` sends ``ANSWER`` gzipped, and any
    other path ``ANSWER`` as it is. A subclass sets the answers and their ``CONTENT_TYPE``."""

    CONTENT_TYPE: str
    ANSWER: bytes
    SLOW_ANSWER: bytes
    BOMB: bytes

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        kind = self.path.split("/")[1]
        self.send_response(503 if kind == "drip-503" else 200)
        self.send_header("content-type", self.CONTENT_TYPE)
        if kind.startswith("drip"):
            self.end_headers()
            self.drip(self.SLOW_ANSWER)
            return
        body = {"bomb": self.BOMB, "gzipped": gzip.compress(self.ANSWER)}.get(kind, self.ANSWER)
        if kind in ("bomb", "gzipped"):
            self.send_header("content-encoding", "gzip")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def drip(self, body: bytes) -> None:
        """Send ``body`` a byte every 50 ms, for DRIP_FOR_SECONDS at most."""
        stop = time.monotonic() + DRIP_FOR_SECONDS
        for byte in body:
            if time.monotonic() > stop:
                return
            try:
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
            except OSError:  # the reader gave up
                return
            time.sleep(0.05)


def first_page_texts(connector: Any) -> list[str]:
    """The texts of the first page ``connector`` reads for QUERY; the connector is closed afterwards."""
    try:
        return [m.text for m in connector.fetch(QUERY, None).mentions]
    finally:
        connector.close()


def timed_error(fetch: Callable[..., object], *args: object, **settings: object) -> tuple[ConnectorError, float]:
    """The ConnectorError that ``fetch(*args, **settings)`` raises, and the seconds it took to."""
    started = time.monotonic()
    with pytest.raises(ConnectorError) as raised:
        fetch(*args, **settings)
    return raised.value, time.monotonic() - started


@contextmanager
def static_site(bodies: Mapping[str, str], redirects: Mapping[str, str] | None = None) -> Iterator[str]:
    """A plain HTTP server for feeds the emulator never writes: ``bodies`` (path -> body, read at each request,
    so a test may change them; any other path is a 404) and ``redirects`` (path -> location, a 301). Its base URL."""
    moved = redirects or {}

    class Handler(QuietHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            if self.path in moved:
                self.send_response(301)
                self.send_header("location", moved[self.path])
                self.send_header("content-length", "0")
                self.end_headers()
                return
            body = bodies.get(self.path, "").encode()
            self.send_response(200 if self.path in bodies else 404)
            self.send_header("content-type", "application/rss+xml; charset=utf-8")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    with serving(Handler) as url:
        yield url


def one_connector_config(db: Database, name: str, settings: dict[str, Any], *, env: dict[str, str] | None = None,
                         handle: str | None = None) -> Config:
    brand: dict[str, Any] = {"name": DEMO_BRAND, "keywords": [DEMO_BRAND]}
    if handle:
        brand["handles"] = {name: handle}
    return Config.from_dict(
        {
            "database": {"url": db.engine.url.render_as_string(hide_password=False)},
            "brands": [brand],
            "connectors": {name: {**FAST_RETRIES, **settings}},
        },
        env=env or {},
    )


def poll(db: Database, config: Config) -> Any:
    """One poll round of the config's only connector; returns its report."""
    (report,) = poll_once(db, config)
    return report


def stored_rows(db: Database, platform: str) -> dict[str, dict[str, Any]]:
    """The platform's stored mentions by external id: text, created_at, thread_id and raw."""
    m = models.Mention
    with db.read() as session:
        rows = session.execute(select(m.external_id, m.text, m.created_at, m.thread_id, m.raw)
                               .where(m.platform == platform))
        return {row.external_id: row._asdict() for row in rows}


class RouteThatGoesDown:
    """127.0.0.1:<port>, forwarding to ``target`` until :meth:`go_down`; from then on connects time out as on a
    route that drops packets (nothing accepts and the accept queue is kept full, so the kernel drops new SYNs),
    until :meth:`restore`: then it forwards again, the connects still waiting included."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(0)
        self._listener.settimeout(0.05)  # the forwarder looks at _up this often
        self.port: int = self._listener.getsockname()[1]
        self._up = threading.Event()
        self._up.set()
        self._fillers: list[socket.socket] = []
        self._filler_ports: set[int] = set()
        threading.Thread(target=self._forward, daemon=True).start()

    def go_down(self) -> None:
        self._up.clear()
        time.sleep(0.1)  # an accept() under way has timed out
        self._fillers = [socket.socket() for _ in range(2)]
        for filler in self._fillers:
            filler.setblocking(False)
            filler.connect_ex(("127.0.0.1", self.port))
        self._filler_ports = {filler.getsockname()[1] for filler in self._fillers}
        time.sleep(0.2)  # the first is queued; the queue is full

    def restore(self) -> None:
        self._up.set()

    def close(self) -> None:
        for sock in (self._listener, *self._fillers):
            sock.close()

    def _forward(self) -> None:
        while True:
            if not self._up.wait(0.05):
                continue
            try:
                client, (_, port) = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return  # closed
            if port in self._filler_ports:
                client.close()
                continue
            client.settimeout(None)
            upstream = socket.create_connection(self.target)
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pump, args=(source, sink), daemon=True).start()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    for sock in (source, sink):
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
