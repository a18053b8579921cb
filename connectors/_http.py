"""What the web-API connectors share: timeout/retry settings, a retrying session, JSON checks, HTML to text.

Not a connector (the registry skips modules starting with ``_``).
"""

from __future__ import annotations

import html
import re
from typing import Any

import requests
from pydantic import Field
from requests.adapters import HTTPAdapter
from urllib3.exceptions import MaxRetryError, NameResolutionError, NewConnectionError
from urllib3.util.retry import Retry

from connectors.base import DEFAULT_RETRY_AFTER_SECONDS, BadPayload, ConnectorSettings, RateLimited


# The longest a request may wait to connect or for each read. A reply still sending after 10 minutes
# may be resolved by a person as not posted and sent again (monitor.replies.SENDER_GONE_AFTER): its
# own request must have given up long before. An hour was accepted until 2026-12-06.
MAX_REQUEST_TIMEOUT_SECONDS = 120.0


class HttpSettings(ConnectorSettings):
    request_timeout_seconds: float = Field(default=30.0, gt=0, le=MAX_REQUEST_TIMEOUT_SECONDS)
    # Retries of GET requests answered 5xx or cut off, with exponential back-off (urllib3 Retry).
    max_retries: int = Field(default=3, ge=0)
    retry_backoff_seconds: float = Field(default=1.0, ge=0)


def retry_policy(settings: HttpSettings) -> Retry:
    """GETs retried on 5xx and dropped connections, with exponential back-off; POSTs never (a reply could
    post twice). Never a 429 and never a Retry-After sleep: urllib3 would block the poll thread (up to
    hours) and resend into a used-up window; waiting out a limit is the poller's business."""
    return Retry(
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
    urllib3 never retries a POST's read error, so an earlier try that sent the request ends the call
    there; as for ``ConnectTimeout``, only a TLS error after sending, then retried, would slip by."""
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
    """Seconds to wait from a ``Retry-After`` header (seconds form), else ``default``."""
    try:
        return float(response.headers["retry-after"])
    except (KeyError, ValueError):
        return default


def rate_limited(platform: str, response: requests.Response) -> RateLimited:
    return RateLimited(f"{platform} answered 429 Too Many Requests", retry_after(response))


def json_object(platform: str, response: requests.Response, what: str) -> dict[str, Any]:
    """The response's JSON object, or BadPayload saying what was wrong."""
    try:
        payload = response.json()
    except ValueError:
        raise BadPayload(f"{platform} answered {what} with malformed JSON") from None
    if not isinstance(payload, dict):
        raise BadPayload(f"{platform} answered {what} with JSON that is not an object")
    return payload


_BREAKS = re.compile(r"</p>\s*<p>|<p>|<br\s*/?>", re.IGNORECASE)
_TAGS = re.compile(r"<[^>]+>")


def html_to_text(markup: str) -> str:
    """Post HTML (Mastodon ``content``, HN ``comment_text``: ``<p>``, ``<a>``, ``<i>``, entities) as plain text."""
    return html.unescape(_TAGS.sub("", _BREAKS.sub("\n\n", markup))).strip()
