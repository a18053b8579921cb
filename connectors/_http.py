"""What the web-API connectors share: timeout/retry settings, a retrying session, JSON checks, HTML to text.

Not a connector (the registry skips modules starting with ``_``).
"""

from __future__ import annotations

import html
import io
import json
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any

import requests
import urllib3
from pydantic import Field
from requests.adapters import HTTPAdapter
from urllib3.exceptions import MaxRetryError, NameResolutionError, NewConnectionError
from urllib3.util.retry import Retry

from connectors.base import DEFAULT_RETRY_AFTER_SECONDS, BadPayload, ConnectorError, ConnectorSettings, RateLimited


# The longest a request may wait to connect or for each read. A reply still sending after 10 minutes
# may be resolved by a person as not posted and sent again (monitor.replies.SENDER_GONE_AFTER): its
# own request must have given up long before. An hour was accepted until 2026-12-06.
MAX_REQUEST_TIMEOUT_SECONDS = 120.0
# A reply's send starts no connection attempt (nor waits out a back-off before one) this long after it began:
# its last attempt connects within MAX_REQUEST_TIMEOUT_SECONDS more, so the post goes out well inside
# monitor.replies.SENDER_GONE_AFTER. Retried connects (3 prawcore tries of max_retries + 1 urllib3 connects on
# Reddit) took 24 minutes in an outage, and the reply posted after a person had marked it not posted and sent it.
REPLY_CONNECT_SECONDS = MAX_REQUEST_TIMEOUT_SECONDS
# When the reply being sent in this thread stops connecting (time.monotonic()); None outside a reply's send.
_reply_connect_deadline: ContextVar[float | None] = ContextVar("reply_connect_deadline", default=None)


class HttpSettings(ConnectorSettings):
    request_timeout_seconds: float = Field(default=30.0, gt=0, le=MAX_REQUEST_TIMEOUT_SECONDS)
    # Retries of GET requests answered 5xx or cut off, with exponential back-off (urllib3 Retry).
    max_retries: int = Field(default=3, ge=0)
    retry_backoff_seconds: float = Field(default=1.0, ge=0)


class ConnectDeadlinePassed(ConnectorError):
    """A reply's send made no connection within REPLY_CONNECT_SECONDS; nothing was sent, so it may be retried."""


@contextmanager
def reply_connect_deadline(until: float | None = None) -> Iterator[None]:
    """Sending a reply: the requests made in here start no connection attempt past ``until`` (time.monotonic()),
    by default REPLY_CONNECT_SECONDS from now (see :class:`_RetryUntilDeadline`, :func:`check_reply_connect_deadline`
    and :func:`past_reply_connect_deadline`)."""
    token = _reply_connect_deadline.set(time.monotonic() + REPLY_CONNECT_SECONDS if until is None else until)
    try:
        yield
    finally:
        _reply_connect_deadline.reset(token)


def past_reply_connect_deadline(pause: float = 0.0) -> bool:
    """Whether a connection attempt started after ``pause`` seconds would start past the deadline to connect of
    the reply being sent; False outside a reply's send."""
    deadline = _reply_connect_deadline.get()
    return deadline is not None and time.monotonic() + pause >= deadline


def check_reply_connect_deadline(platform: str) -> None:
    """Raise ConnectDeadlinePassed once the reply being sent is past its deadline to connect, for a client library
    that retries a connection never made on its own (prawcore), before each of its tries."""
    if past_reply_connect_deadline():
        raise ConnectDeadlinePassed(f"cannot reach {platform} to reply (no connection within "
                                    f"{REPLY_CONNECT_SECONDS:g} s); nothing was posted")


class _RetryUntilDeadline(Retry):
    """urllib3's retries, which it makes of a connection never made for every method, a reply's POST included:
    within :func:`reply_connect_deadline` none starts (its back-off included) past the deadline. The last
    connection error is raised instead, as after the last retry. Any other error is a read error, retried
    for the allowed methods alone."""

    def is_exhausted(self) -> bool:
        return past_reply_connect_deadline(self.get_backoff_time()) or super().is_exhausted()

    def _is_read_error(self, err: Exception) -> bool:
        # urllib3 counts an error neither a connection's nor a read's (a TLS error, a proxy's) as "other", which
        # it retries for every method; but a TLS error may come after the request went out (a record that does
        # not decrypt, in place of the answer), and a reply's POST was posted max_retries + 1 times.
        return not self._is_connection_error(err)


def retry_policy(settings: HttpSettings) -> Retry:
    """GETs retried on 5xx, dropped connections and TLS errors, with exponential back-off; POSTs never (a reply
    could post twice). Never a 429 and never a Retry-After sleep: urllib3 would block the poll thread (up to
    hours) and resend into a used-up window; waiting out a limit is the poller's business. Connections never
    made are retried for every method, as nothing was sent, but not past a reply's :func:`reply_connect_deadline`."""
    return _RetryUntilDeadline(
        total=settings.max_retries,
        backoff_factor=settings.retry_backoff_seconds,
        status_forcelist=(500, 502, 503, 504),
        allowed_methods=frozenset({"GET"}),
        raise_on_status=False,
        respect_retry_after_header=False,
    )


def retrying_session(settings: HttpSettings, user_agent: str) -> requests.Session:
    """A session whose requests follow :func:`retry_policy`."""
    session = requests.Session()
    for prefix in ("https://", "http://"):
        session.mount(prefix, HTTPAdapter(max_retries=retry_policy(settings)))
    session.headers["User-Agent"] = user_agent
    return session


def never_connected(exc: BaseException) -> str | None:
    """Why no connection to the platform was ever made (the name did not resolve, the connection was refused
    or the network unreachable), so nothing of the request was sent; None when it may have been sent.

    Only a plain ``requests.ConnectionError`` whose final urllib3 error is a :class:`NewConnectionError`
    (:class:`NameResolutionError` is one): urllib3 raises it from ``connect()`` alone, before a byte of
    the request is written (a reset during the handshake included). A reset or a cut-off answer once
    connected (``ProtocolError``), a proxy or TLS error may come after the request went out: None.
    :func:`retry_policy` retries a POST after no error but a connection never made (``NewConnectionError``,
    ``ConnectTimeout``), so an earlier try that sent the request ends the call there."""
    if type(exc) is not requests.ConnectionError or not exc.args or not isinstance(exc.args[0], MaxRetryError):
        return None
    reason = exc.args[0].reason
    if isinstance(reason, NameResolutionError):
        return "the name did not resolve"
    if isinstance(reason, NewConnectionError) and isinstance(reason.__cause__, ConnectionRefusedError):
        return "the connection was refused"
    if isinstance(reason, NewConnectionError):
        return "no connection could be made"
    return None


def retry_after(response: requests.Response, default: float = DEFAULT_RETRY_AFTER_SECONDS) -> float:
    """Seconds to wait from a ``Retry-After`` header, in seconds or as an HTTP date (RFC 9110; CDNs send dates:
    read as no header, a feed asking for two hours was polled every minute); a date gone by is no wait.
    ``default`` without a readable header."""
    value = response.headers.get("retry-after", "")
    try:
        return float(value)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return default
    if when.tzinfo is None:  # "-0000": UTC, though the zone is not said
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


def rate_limited(platform: str, response: requests.Response) -> RateLimited:
    return RateLimited(f"{platform} answered 429 Too Many Requests", retry_after(response))


def json_object(platform: str, body: bytes, what: str) -> dict[str, Any]:
    """The JSON object an answer's ``body`` holds (read with :func:`read_body`, so that its time and size are
    bounded), or BadPayload saying what was wrong."""
    try:
        payload = json.loads(body)  # UTF-8, -16 or -32, as JSON allows; a bad byte is a ValueError too
    except ValueError:
        raise BadPayload(f"{platform} answered {what} with malformed JSON") from None
    if not isinstance(payload, dict):
        raise BadPayload(f"{platform} answered {what} with JSON that is not an object")
    return payload


class BodyTooLarge(BadPayload):
    """An answer's body (unpacked) is larger than the connector reads."""


class BodyTooSlow(ConnectorError):
    """An answer's body took longer to arrive than the request timeout."""


_BODY_READ_BYTES = 64 * 1024


def read_body(response: requests.Response, what: str, *, seconds: float, max_bytes: int) -> bytes:
    """The body of a ``stream=True`` response, unpacked (gzip, deflate), read in parts so that it stops
    past ``max_bytes`` (:class:`BodyTooLarge`: half a megabyte of gzip unpacked to 2 GB in memory) or once
    ``seconds`` have gone by since the call (:class:`BodyTooSlow`: the request timeout bounds each read of
    the socket only, so a body sent a byte at a time held the poll thread for as long as it came).
    ``read1`` (urllib3 2.2+) returns after one read of the socket, so the clock is checked whenever bytes
    arrive; a read with none waits at most the request timeout. ``what`` names the source in the errors."""
    deadline = time.monotonic() + seconds
    body = bytearray()
    try:
        while chunk := response.raw.read1(_BODY_READ_BYTES, decode_content=True):
            body += chunk
            if len(body) > max_bytes:
                raise BodyTooLarge(f"{what} sent more than {max_bytes} bytes (unpacked)")
            if time.monotonic() > deadline:
                raise BodyTooSlow(f"{what} took longer than {seconds:g} s to send its answer")
    except (urllib3.exceptions.HTTPError, OSError) as exc:  # cut off, a read timeout, bad gzip
        raise ConnectorError(f"{what} answer could not be read ({exc.__class__.__name__})") from None
    return bytes(body)


def read_bodies_bounded(session: requests.Session, what: str, *, seconds: float, max_bytes: int) -> requests.Session:
    """``session``, reading the body of each answer not streamed with :func:`read_body`, for a client library
    that reads bodies whole itself (Mastodon.py). requests runs response hooks before it reads the body, so the
    library gets the body read here; an error of :func:`read_body` comes out of the library's request call (the
    library may raise its own error in its place, from that one). The answer's ``raw`` becomes a file holding
    the body, so the session keeps no cookies: the APIs these libraries call use none."""
    def read_bounded(response: requests.Response, *, stream: bool = False, **kwargs: Any) -> None:
        if stream:
            return
        try:
            body = read_body(response, what, seconds=seconds, max_bytes=max_bytes)
        except ConnectorError:
            response.close()  # part of the body is unread: the connection cannot serve another request
            raise
        response.raw = io.BytesIO(body)

    session.hooks["response"].append(read_bounded)
    return session


# Tags a browser starts a line at: blocks (paragraphs, lists, quotes, code, headings, tables) and line breaks, list
# items, table rows and cells, opening or closing. Removed outright, they glued words ("staff<br>Acme" read
# "staffAcme"); inline tags (<b>, <a>) part nothing. Its name follows the "<" (see TAGS).
LINE_TAGS = re.compile(r"<(/?)(address|article|aside|blockquote|br|dd|div|dl|dt|figcaption|figure|footer|h[1-6]"
                       r"|header|hr|li|main|nav|ol|p|pre|section|table|tbody|td|tfoot|th|thead|tr|ul)\b[^>]*>",
                       re.IGNORECASE)
_LINE_STARTS = frozenset({"br", "dd", "dt", "li", "td", "th", "tr"})  # the rest are blocks
# A line tag with the whitespace around it, which is the markup's layout ("</li>\n<li>"), not the text's.
_LINE_TAG_SPACED = re.compile(rf"\s*(?:{LINE_TAGS.pattern})\s*", re.IGNORECASE)
_BLANK_LINES = re.compile(r"\n{3,}")
# A comment, to its end (or the text's, as a browser reads one left open), tags and "-->" in it included: a
# commented-out sponsor slot's "<a>Orbisto</a>" read as a mention, with "-->" left over.
_COMMENTS = re.compile(r"<!--(?:-?>|.*?--!?>|.*\Z)", re.DOTALL)
# A tag, which starts only at a "<" before a letter, "/", "!" or "?", as in a browser; any other "<" is text ("I <3
# Orbisto ->", "< 500 EUR … > 600"): read as a tag, the words up to the next ">" were deleted.
TAGS = re.compile(r"<[A-Za-z/!?][^>]*>")


def without_comments(markup: str) -> str:
    """``markup`` without its comments, which a browser does not show; removed before any tag is read, since a
    comment may hold tags ("<!-- <a>Orbisto</a> -->")."""
    return _COMMENTS.sub("", markup)


def _line_break(tag: re.Match[str]) -> str:
    """A block stands apart by a blank line; a break, list item or row starts a line, and its end adds none
    (the next item, or the list's end, does)."""
    closing, name = tag.group(1), tag.group(2).lower()
    if name not in _LINE_STARTS:
        return "\n\n"
    return "" if closing else "\n"


def html_to_text(markup: str) -> str:
    """Post HTML (Mastodon ``content``, HN ``comment_text``: paragraphs, links, lists, quotes, code, entities) as
    plain text: a blank line between blocks, a line per break or list item. The lines of ``<pre>`` keep their
    breaks, but runs of blank lines collapse to one and a ``<br>`` drops the spaces after it."""
    text = html.unescape(TAGS.sub("", _LINE_TAG_SPACED.sub(_line_break, without_comments(markup))))
    return _BLANK_LINES.sub("\n\n", text).strip()
