"""A configured secret is masked in a logged traceback and stack, not only in the log message: until 2026-12-07 a
plugin connector's error quoting its URL (``…?api_token=<token>``, as requests words a failed request) was written
whole under the poller's "connector … crashed" line, in the worker's log and in any other handler's output."""

from __future__ import annotations

import io
import logging
from collections.abc import Callable

import pytest

from monitor.logs import LOG_FORMAT, OneLineLogFormatter
from monitor.redact import MASK, protect

TOKEN = "tk_9f3aB77c21DeadBeef"
URL = f"https://api.example.invalid/v1/search?q=acme&api_token={TOKEN}"


def _logged(log: Callable[[logging.Logger], None], one_line_first: bool) -> list[str]:
    """What a plain handler and the worker's one-line handler (in either order) write for one record."""
    protect([TOKEN])
    streams = {"plain": io.StringIO(), "one line": io.StringIO()}
    plain, one_line = logging.StreamHandler(streams["plain"]), logging.StreamHandler(streams["one line"])
    plain.setFormatter(logging.Formatter(LOG_FORMAT))
    one_line.setFormatter(OneLineLogFormatter(LOG_FORMAT))
    logger = logging.getLogger("tests.secret_traceback")
    handlers = [one_line, plain] if one_line_first else [plain, one_line]
    for each in handlers:
        logger.addHandler(each)
    logger.propagate = False
    try:
        log(logger)
    finally:
        for each in handlers:
            logger.removeHandler(each)
    return [stream.getvalue() for stream in streams.values()]


def _crash(logger: logging.Logger) -> None:
    """The poller's record of a connector that crashed on a request error, itself raised while handling another."""
    try:
        try:
            raise TimeoutError(f"read timed out for {URL}")
        except TimeoutError as exc:
            raise ConnectionError(f"HTTPSConnectionPool(host='api.example.invalid', port=443): Max retries "
                                  f"exceeded with url: /v1/search?q=acme&api_token={TOKEN}") from exc
    except ConnectionError:
        logger.exception("connector %s crashed on query %s", "example", "acme")


@pytest.mark.parametrize("one_line_first", [False, True])
def test_a_secret_in_an_exceptions_text_is_masked_in_the_logged_traceback(one_line_first: bool) -> None:
    for output in _logged(_crash, one_line_first):
        assert "connector example crashed on query acme" in output and "Traceback" in output
        assert TOKEN not in output, output
        assert f"api_token={MASK}" in output and "read timed out for https://api.example.invalid/v1/search" in output
    one_line = _logged(_crash, one_line_first)[1]
    assert one_line.rstrip("\n").endswith(f"Max retries exceeded with url: /v1/search?q=acme&api_token={MASK}")


def _checked_with_stack(logger: logging.Logger) -> None:
    logger.warning("checking %s", "tk_9f3aB77c21DeadBeef", stack_info=True)  # the stack quotes this line


@pytest.mark.parametrize("one_line_first", [False, True])
def test_a_secret_in_a_logged_stack_is_masked(one_line_first: bool) -> None:
    for output in _logged(_checked_with_stack, one_line_first):
        assert "Stack (most recent call last):" in output and f"checking {MASK}" in output
        assert TOKEN not in output, output
