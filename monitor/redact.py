"""Keeps configured secrets out of log records, whichever library writes them.

Libraries log more than we do: apprise, for one, logs each chat target's full URL (which holds the
webhook's secret) at DEBUG. Every secret the config loads is registered here, and a log-record
factory replaces any of them in a record's message, traceback and stack before a handler sees it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

MASK = "***"
MIN_LENGTH = 4  # shorter values would mask ordinary words
_secrets: tuple[str, ...] = ()  # longest first, so a whole URL is masked before its parts
_lock = threading.Lock()
_base_factory = logging.getLogRecordFactory()
_traceback_formatter = logging.Formatter()  # formats a traceback as logging's handlers do by default


def _replace(text: str, longest_first: Iterable[str]) -> str:
    for secret in longest_first:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


def redact(text: str) -> str:
    """``text`` with every registered secret masked."""
    return _replace(text, _secrets)


def mask(text: str, secrets: Iterable[str]) -> str:
    """``text`` with each of ``secrets`` masked (a connector's, in an error it raised), longest first: a password
    that holds the username is masked whole, not left as ``***-Winter2026!``."""
    return _replace(text, sorted((s for s in secrets if len(s) >= MIN_LENGTH), key=len, reverse=True))


def _record(*args: Any, **kwargs: Any) -> logging.LogRecord:
    record = _base_factory(*args, **kwargs)
    if _secrets:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info:
            # Handlers' formatters write a record's cached exc_text rather than format its exception again
            # (monitor.logs' OneLineLogFormatter formats it anew, and masks that text itself).
            traceback_text = _traceback_formatter.formatException(record.exc_info)
            cleaned = redact(traceback_text)
            if cleaned != traceback_text:
                record.exc_text = cleaned
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
    return record


def _looks_random(piece: str) -> bool:
    """A token-like part (``AAHdqTcv0K5``, ``tk_9f3…``), not a word such as ``alerts`` or a channel name."""
    kinds = (any(c.isdigit() for c in piece), any(c.islower() for c in piece), any(c.isupper() for c in piece))
    return len(piece) >= 8 and sum(kinds) >= 2


def _pieces(value: str) -> Iterator[str | None]:
    yield value
    try:
        parts = urlsplit(value)
        password, username = parts.password, parts.username
    except ValueError:
        return
    if not (parts.scheme and parts.netloc):
        return
    # Libraries log a URL's path or query on their own, too, and apprise logs single tokens from
    # it (a Slack token in a warning, a Telegram bot token inside the API URL it calls). A path of one
    # plain word ("/alerts") is masked with its slash only: bare, the word is masked in every log line.
    bare = parts.path.strip("/")  # one token-like word alone is yielded with the path's other fields below
    yield from (parts.path, parts.query, password, bare if "/" in bare else None)
    fields = [username, *parts.path.split("/")]
    for _, field in parse_qsl(parts.query, keep_blank_values=True):
        fields += [field, quote(field, safe="")]
    if parts.scheme not in ("http", "https"):  # apprise schemes carry tokens where a host would be
        fields += [parts.netloc, *parts.netloc.split(":")]
    yield from (field for field in fields if field and _looks_random(field))


def protect(values: Iterable[str | None]) -> None:
    """Mask these values (and a URL's path, query, password and token-like parts) in every log record from now on."""
    global _secrets
    found = {piece for v in values if v for piece in _pieces(v) if piece and len(piece) >= MIN_LENGTH}
    with _lock:
        _secrets = tuple(sorted(set(_secrets) | found, key=len, reverse=True))
        if logging.getLogRecordFactory() is not _record:
            logging.setLogRecordFactory(_record)


__all__ = ["MASK", "mask", "protect", "redact"]
