"""A platform's error text inside a logged traceback is one line, its control characters escaped: until 2026-12-07
the log message was kept to one line but the traceback under it was written as is, so a ConnectorError carrying an
API's message with a line break ("bad query\\r\\n2026-12-08 … INFO monitor.poller: …") started a forged log line. The
traceback's frames stay on their lines, as Python writes them."""

from __future__ import annotations

import io
import logging

from connectors.base import ConnectorError
from monitor.logs import LOG_FORMAT, OneLineLogFormatter

FORGED = "2026-12-08 09:00:00,000 INFO monitor.poller: connector hackernews: 1 pages, 0 new of 0 fetched"


def _logged_crash(*other_handlers: logging.Handler) -> str:
    """What the poller logs for a connector that crashed on an API error raised while handling another one."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(OneLineLogFormatter(LOG_FORMAT))
    logger = logging.getLogger("tests.traceback_log")
    handlers = [*other_handlers, handler]
    for each in handlers:
        logger.addHandler(each)
    logger.propagate = False
    try:
        try:
            raise ValueError(f"unexpected reply\n{FORGED}")
        except ValueError as exc:
            raise ConnectorError(f"bad query\r\n{FORGED}\x1b[2K") from exc
    except ConnectorError:
        logger.exception("connector %s crashed on query %s", "hackernews", "acme")
    finally:
        for each in handlers:
            logger.removeHandler(each)
    return stream.getvalue()


def test_an_exception_message_in_a_traceback_cannot_start_a_log_line() -> None:
    lines = _logged_crash().splitlines()
    assert lines[0].endswith("ERROR tests.traceback_log: connector hackernews crashed on query acme")
    assert not any(line.startswith(FORGED[:19]) for line in lines), lines
    assert f"ValueError: unexpected reply {FORGED}" in lines
    assert f"connectors.base.ConnectorError: bad query {FORGED}\\u001b[2K" == lines[-1]
    assert not any(char in line for line in lines for char in ("\r", "\x1b"))
    # the frames stay on their own lines, as Python writes them
    assert lines.count("Traceback (most recent call last):") == 2
    assert "The above exception was the direct cause of the following exception:" in lines
    frames = [line for line in lines if line.startswith("  File ")]
    assert len(frames) == 2 and all(__file__ in frame for frame in frames)


def test_a_traceback_another_handler_formatted_first_is_still_one_line_per_record() -> None:
    """logging keeps the first traceback text made for a record, whichever handler's formatter made it."""
    plain = logging.StreamHandler(io.StringIO())
    plain.setFormatter(logging.Formatter(LOG_FORMAT))
    lines = _logged_crash(plain).splitlines()
    assert not any(line.startswith(FORGED[:19]) for line in lines), lines
