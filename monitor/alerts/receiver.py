"""A tiny local alert receiver: records and prints what apprise posts to it.

Point a target at it with ``json://127.0.0.1:PORT/NAME`` (apprise's generic JSON webhook) or
``mmost://127.0.0.1:PORT/TOKEN`` (Mattermost-style). Used by the tests and the demo:

    python -m monitor.alerts.receiver --port 8765 [--log alerts.jsonl]

``GET /`` returns what was received, as JSON. Test hooks: ``fail_first`` answers 500 that many
times before accepting; ``hang`` never answers (until the receiver stops).
"""

from __future__ import annotations

import argparse
import errno
import json
import sys
import threading
import time
from dataclasses import asdict, dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TextIO


@dataclass(frozen=True)
class Received:
    path: str
    title: str
    body: str
    type: str
    payload: dict[str, Any]


def _parse(path: str, payload: dict[str, Any]) -> Received:
    if "message" in payload:  # apprise json://
        return Received(path, str(payload.get("title", "")), str(payload["message"]), str(payload.get("type", "")), payload)
    # Mattermost/Slack-style: the title is the first line of "text".
    title, _, body = str(payload.get("text", "")).partition("\r\n")
    return Received(path, title, body, "", payload)


class Receiver:
    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, fail_first: int = 0, hang: bool = False,
                 out: TextIO | None = None, log_path: Path | None = None) -> None:
        self.received: list[Received] = []
        self.requests = 0
        self.fail_first, self.hang = fail_first, hang
        self.out, self.log_path = out, log_path
        self._stopping = threading.Event()
        self._changed = threading.Condition()
        self.server = ThreadingHTTPServer((host, port), self._handler())
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True, name="alert-receiver")

    def json_url(self, name: str = "alerts") -> str:
        return f"json://127.0.0.1:{self.port}/{name}"

    def mattermost_url(self, token: str = "receivertoken") -> str:
        return f"mmost://127.0.0.1:{self.port}/{token}"

    def start(self) -> "Receiver":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # releases hanging handlers
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> "Receiver":
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self.received) < count and (left := deadline - time.monotonic()) > 0:
                self._changed.wait(left)
            return list(self.received)

    def _record(self, item: Received) -> None:
        with self._changed:
            self.received.append(item)
            self._changed.notify_all()
        if self.out is not None:
            print(f"[alert] {item.path} {item.title}\n{item.body}\n", file=self.out, flush=True)
        if self.log_path is not None:
            with self.log_path.open("a", encoding="utf-8") as f:
                f.write(json.dumps(asdict(item)) + "\n")

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver._changed:
                    receiver.requests += 1
                    attempt = receiver.requests
                    receiver._changed.notify_all()
                if receiver.hang:
                    receiver._stopping.wait()
                    return
                if attempt <= receiver.fail_first:
                    self._reply(500, b'{"error": "try again"}')
                    return
                try:
                    payload = json.loads(body or b"{}")
                except ValueError:
                    self._reply(400, b'{"error": "not JSON"}')
                    return
                receiver._record(_parse(self.path, payload))
                self._reply(200, b'{"ok": true}')

            def do_GET(self) -> None:
                self._reply(200, json.dumps([asdict(r) for r in receiver.received], indent=2).encode())

            def _reply(self, code: int, data: bytes) -> None:
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *_: Any) -> None:
                pass  # the alerts themselves are printed; request lines are noise

        return Handler


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Record and print alerts posted by apprise (json:// or mmost://).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--log", type=Path, help="also append each alert to this JSONL file")
    args = parser.parse_args(argv)
    try:
        receiver = Receiver(args.host, args.port, out=sys.stdout, log_path=args.log)
    except OSError as exc:  # the port is taken, or the host is not this machine's
        taken = "; pick another with --port" if exc.errno == errno.EADDRINUSE else ""
        sys.exit(f"error: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}{taken}")
    print(f"listening: json://{args.host}:{receiver.port}/alerts or mmost://{args.host}:{receiver.port}/TOKEN", flush=True)
    try:
        receiver.server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        receiver.server.server_close()


if __name__ == "__main__":
    main()
