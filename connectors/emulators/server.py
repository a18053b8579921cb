"""What both emulators share: a threaded local HTTP server, injected faults and rate-limit windows."""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal
from urllib.parse import parse_qsl, urlsplit

FaultKind = Literal["rate_limit", "server_error", "malformed_json", "missing_fields"]
FAULT_KINDS: tuple[FaultKind, ...] = ("rate_limit", "server_error", "malformed_json", "missing_fields")


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes

    def form(self) -> dict[str, str]:
        return dict(parse_qsl(self.body.decode("utf-8"), keep_blank_values=True))

    def json(self) -> Any:
        return json.loads(self.body or b"null")


@dataclass
class Response:
    status: int
    payload: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    # Sent as-is instead of ``payload`` (malformed JSON on demand).
    raw_body: bytes | None = None

    def body(self) -> bytes:
        if self.raw_body is not None:
            return self.raw_body
        return b"" if self.payload is None else json.dumps(self.payload, ensure_ascii=False).encode("utf-8")


@dataclass
class Fault:
    kind: FaultKind
    remaining: int
    status: int = 503
    retry_after: float = 60.0
    path_contains: str | None = None


class FaultQueue:
    """Faults to serve to the next matching requests, oldest first (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(self, fault: Fault) -> None:
        if fault.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {fault.kind!r}; one of {', '.join(FAULT_KINDS)}")
        with self._lock:
            self._faults.append(fault)

    def take(self, path: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.path_contains is None or fault.path_contains in path:
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._faults.remove(fault)
                    return fault
        return None

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()


@dataclass
class WindowState:
    limit: int
    remaining: int
    used: int
    reset_at: float  # epoch seconds


class RateWindows:
    """Fixed windows of ``limit`` requests per ``window_seconds``, one per endpoint key."""

    def __init__(self, limit: int, window_seconds: float) -> None:
        self.limit, self.window_seconds = limit, window_seconds
        self._lock = threading.Lock()
        self._windows: dict[str, tuple[float, int]] = {}

    def hit(self, key: str) -> tuple[WindowState, bool]:
        """Count one request; returns the window after it and whether it was allowed."""
        now = time.time()
        with self._lock:
            started, used = self._windows.get(key, (now, 0))
            if now >= started + self.window_seconds:
                started, used = now, 0
            allowed = used < self.limit
            if allowed:
                used += 1
            self._windows[key] = (started, used)
        return WindowState(self.limit, self.limit - used, used, started + self.window_seconds), allowed

    def exhaust(self, key: str, seconds: float) -> None:
        """Use up ``key``'s window so it refuses requests for ``seconds`` from now."""
        with self._lock:
            self._windows[key] = (time.time() + seconds - self.window_seconds, self.limit)


class EmulatorState:
    """What every emulator has: rate windows, injected faults and a request counter."""

    def __init__(self, windows: RateWindows) -> None:
        self.windows = windows
        self.faults = FaultQueue()
        self.requests_served = 0

    def inject(self, kind: FaultKind, times: int = 1, *, status: int = 503, retry_after: float = 60.0,
               path_contains: str | None = None) -> None:
        """Answer the next ``times`` API requests (whose path contains ``path_contains``) with a fault:
        ``rate_limit`` (429, window reset in ``retry_after`` s), ``server_error`` (``status``),
        ``malformed_json`` (a truncated body) or ``missing_fields`` (posts without author/time)."""
        self.faults.add(Fault(kind, times, status, retry_after, path_contains))


class _Handler(BaseHTTPRequestHandler):
    server: "EmulatorServer"
    protocol_version = "HTTP/1.1"

    def _serve(self) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        request = Request(
            method=self.command,
            path=parts.path,
            query=dict(parse_qsl(parts.query, keep_blank_values=True)),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=self.rfile.read(length) if length else b"",
        )
        try:
            response = self.server.app(request)
        except Exception as exc:  # an emulator bug should look like a 500, not a dropped connection
            response = Response(500, {"error": 500, "message": f"emulator error: {exc.__class__.__name__}"})
        body = response.body()
        self.send_response(response.status)
        headers = {"content-type": "application/json; charset=utf-8", **response.headers}
        if self.close_connection:
            # The request said "Connection: close" (prawcore's token requests do): say so in the answer,
            # as real servers do. Without it the client pools the connection this thread is about to
            # close, and its next request (a reply POST, say) can go out on it and get no answer.
            headers["Connection"] = "close"
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_DELETE = do_PUT = do_PATCH = _serve

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass  # quiet: tests and the demo would drown in access lines


class EmulatorServer(ThreadingHTTPServer):
    """Serves ``app`` on 127.0.0.1 (port 0 picks a free one) from a daemon thread."""

    daemon_threads = True
    # socketserver's default listen backlog is 5; real APIs queue far more connections than that.
    # (It was raised for a reply POST that went unanswered in one run; the cause turned out to be the
    # missing "Connection: close" in answers, see _serve.)
    request_queue_size = 128

    def __init__(self, app: Callable[[Request], Response], host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__((host, port), _Handler)
        self.app = app
        # A short poll interval makes stop() quick (tests start and stop many emulators).
        self._thread = threading.Thread(target=self.serve_forever, args=(0.05,), name="emulator", daemon=True)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return  # the client hung up mid-request (a timeout, or a test cutting the network)
        super().handle_error(request, client_address)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "EmulatorServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        self._thread.join(timeout=5)


def truncated(response: Response) -> Response:
    """The same response with its JSON cut in half: what a dropped proxy connection looks like."""
    body = response.body()
    return Response(response.status, headers=response.headers, raw_body=body[: max(1, len(body) // 2)])
