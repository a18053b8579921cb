"""Helpers for the Mastodon, Bluesky, Hacker News and RSS connector tests: one connector through the poller."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from sqlalchemy import select

from connectors.emulators import DEMO_BRAND
from monitor import models
from monitor.config import Config
from monitor.poller import poll_once
from monitor.storage import Database

FAST_RETRIES = {"max_retries": 2, "retry_backoff_seconds": 0.01}


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
