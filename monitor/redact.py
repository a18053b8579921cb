"""Keeps configured secrets out of log records, whichever library writes them.

Libraries log more than we do: apprise, for one, logs each chat target's full URL (which holds the
webhook's secret) at DEBUG. Every secret the config loads is registered here, and a log-record
factory replaces any of them in a record's message before a handler sees it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import urlsplit

MASK = "***"
MIN_LENGTH = 4  # shorter values would mask ordinary words
_secrets: tuple[str, ...] = ()  # longest first, so a whole URL is masked before its parts
_lock = threading.Lock()
_base_factory = logging.getLogRecordFactory()


def redact(text: str) -> str:
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


def _record(*args: Any, **kwargs: Any) -> logging.LogRecord:
    record = _base_factory(*args, **kwargs)
    if _secrets:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
    return record


def _pieces(value: str) -> Iterator[str | None]:
    yield value
    try:
        parts = urlsplit(value)
        password = parts.password
    except ValueError:
        return
    if parts.scheme and parts.netloc:  # libraries log a URL's path or query on their own, too
        yield from (parts.path, parts.path.strip("/"), parts.query, password)


def protect(values: Iterable[str | None]) -> None:
    """Mask these values (and a URL's path, query and password) in every log record from now on."""
    global _secrets
    found = {piece for v in values if v for piece in _pieces(v) if piece and len(piece) >= MIN_LENGTH}
    with _lock:
        _secrets = tuple(sorted(set(_secrets) | found, key=len, reverse=True))
        if logging.getLogRecordFactory() is not _record:
            logging.setLogRecordFactory(_record)


__all__ = ["MASK", "protect", "redact"]
