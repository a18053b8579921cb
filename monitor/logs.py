"""Log output of mentiondesk's processes (the CLI's commands and the dashboard): one log line per record, whatever
text from a platform its message or exception carries."""

from __future__ import annotations

import itertools
import logging
import sys
import traceback
from collections.abc import Iterator
from types import TracebackType

from monitor.redact import redact
from monitor.text import terminal_safe

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None] | tuple[None, None, None]


class OneLineLogFormatter(logging.Formatter):
    """Log lines whose message is one line with its control characters escaped, as `terminal_safe` shows them.

    Messages carry platforms' error texts: a CR/LF in one started a forged line in the worker's log, and an escape
    sequence reached the terminal of whoever tailed it. A traceback stays multi-line, as Python writes it, but an
    exception's own text (its message and notes, which carry the same error texts) is one line too, and control
    characters are escaped on every line. The members of an exception group are indented by Python, so their text
    cannot start a line of its own either. Secrets are masked in a record's message, traceback and stack before
    this sees it (monitor.redact); the traceback it formats anew is masked first too, then escaped.
    """

    def format(self, record: logging.LogRecord) -> str:
        if record.exc_info:
            # Cached by monitor.redact or another handler's formatter: logging's multi-line text, unescaped.
            record.exc_text = None
        return super().format(record)

    def formatMessage(self, record: logging.LogRecord) -> str:
        return terminal_safe(super().formatMessage(record))

    def formatException(self, ei: _ExcInfo) -> str:
        described = traceback.TracebackException(type(ei[1]), ei[1], ei[2], compact=True)  # as logging does
        exception_text = {chunk for linked in _chained(described) for chunk in linked.format_exception_only()}
        sections = []
        for is_exception_text, chunks in itertools.groupby(described.format(), key=exception_text.__contains__):
            section = redact("".join(chunks)).removesuffix("\n")
            sections.append(terminal_safe(section) if is_exception_text else section)
        return "\n".join(terminal_safe(line) for line in "\n".join(sections).split("\n"))


def _chained(described: traceback.TracebackException) -> Iterator[traceback.TracebackException]:
    """``described`` and the exceptions it was raised from or while handling, as its traceback shows them."""
    yield described
    for linked in (described.__cause__, described.__context__):
        if linked is not None:
            yield from _chained(linked)


def log_to_stderr(level: int = logging.WARNING) -> None:
    """Log this process's records from ``level`` up to stderr, one `OneLineLogFormatter` line each, unless its
    logging is set up already (calling it again changes nothing: the dashboard calls it on each run of its page)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(OneLineLogFormatter(LOG_FORMAT))
    logging.basicConfig(level=level, handlers=[handler])
