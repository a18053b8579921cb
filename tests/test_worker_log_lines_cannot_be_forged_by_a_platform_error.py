"""A platform's error text is logged on one line, its control characters escaped: until 2026-12-07 a CR/LF in
Hacker News's error message started a forged line in the worker's log ("… INFO monitor.poller: connector hackernews:
1 pages …") and escape sequences reached a terminal tailing it. A traceback stays as Python writes it, and
configured secrets are still masked."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.logs import LOG_FORMAT, OneLineLogFormatter
from monitor.redact import MASK, protect
from tests.more_sources_fixtures import QuietHandler, serving

FORGED = "2026-12-08 09:00:00,000 INFO monitor.poller: connector hackernews: 1 pages, 0 new of 0 fetched"


class _FailingSearch(QuietHandler):
    def do_GET(self) -> None:
        body = json.dumps({"message": f"bad query\r\n{FORGED}\x1b[2K\n{FORGED}\u202e"}).encode()
        self.send_response(400)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def failing_search() -> Iterator[str]:
    with serving(_FailingSearch) as url:
        yield url


def test_a_platform_error_cannot_start_a_log_line_or_reach_the_terminal(tmp_path: Path, failing_search: str) -> None:
    config = tmp_path / "mentiondesk.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "d.db"}"\n[[brands]]\nname = "Acme"\n'
                      'keywords = ["acme"]\n[sentiment]\nbackend = "none"\n[connectors.hackernews]\n'
                      f'api_base_url = "{failing_search}"\nmax_retries = 0\n', encoding="utf-8")
    command = [sys.executable, "-m", "monitor", "--config", str(config)]
    for args in (["db", "upgrade"], ["poll", "--once"]):
        run = subprocess.run(command + args, capture_output=True, text=True, timeout=120, env=dict(os.environ),
                             cwd=Path(__file__).resolve().parent.parent)
    lines = run.stderr.splitlines()
    assert any("connector hackernews failed" in line and "bad query" in line for line in lines), run.stderr
    assert not any(line.startswith(FORGED[:19]) for line in lines)
    assert not any(char in run.stderr for char in ("\r", "\x1b", "\u202e"))


def _logged(exc_info: bool = False, message: str = "line one\r\nline two\x1b[2K") -> str:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(OneLineLogFormatter(LOG_FORMAT))
    logger = logging.getLogger("tests.one_line_log")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        if exc_info:
            try:
                raise RuntimeError("it broke")
            except RuntimeError:
                logger.exception(message)
        else:
            logger.warning(message)
    finally:
        logger.removeHandler(handler)
    return stream.getvalue()


def test_a_traceback_stays_multi_line_under_a_one_line_message() -> None:
    logged = _logged(exc_info=True)
    first, *traceback = logged.splitlines()
    assert first.endswith("ERROR tests.one_line_log: line one line two\\u001b[2K")
    assert traceback[0] == "Traceback (most recent call last):" and traceback[-1] == "RuntimeError: it broke"


def test_a_secret_in_a_logged_message_is_still_masked() -> None:
    protect(["tok-Zq81ExampleSecret"])
    logged = _logged(message="answered 401 for tok-Zq81ExampleSecret\r\nforged")
    assert "tok-Zq81ExampleSecret" not in logged and MASK in logged and logged.count("\n") == 1
