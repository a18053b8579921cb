"""Sending alert events through apprise, one background worker per target.

The engine only writes ``pending`` rows; workers claim due rows with a conditional UPDATE (so two
processes never send the same one), send, and record the outcome. Apprise has per-request
timeouts but no retries, so failures are retried here with exponential back-off by setting a new
``due_at``; after ``max_attempts`` the event is ``failed``. A hung or failing target only delays
its own worker, never polling nor the other targets.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

import apprise
from apprise.conversion import convert_between
from sqlalchemy import or_, select, update

from monitor.alerts.compose import compose
from monitor.alerts.format import WRITERS, Message, Style
from monitor.alerts.models import AlertEvent, AlertStatus
from monitor.alerts.settings import RULE_LEVELS, AlertSettings, Target
from monitor.backoff import doubled
from monitor.storage import Database

log = logging.getLogger("mentiondesk.alerts")

IDLE_POLL_SECONDS = 1.0
# An alert that could not go out within this long of coming due (its target taken out of the config and put back,
# or every process down) is old news: the queue shows its mentions, so it is suppressed rather than sent.
LATE_LIMIT = timedelta(days=3)
_NOTIFY_TYPES = {"critical": apprise.NotifyType.FAILURE, "warning": apprise.NotifyType.WARNING, "info": apprise.NotifyType.INFO}


def _summarise(messages: list[str]) -> str:
    """A short cause that never quotes the URL (it holds tokens): an HTTP status or the error kind."""
    text = " ".join(messages)
    if code := re.search(r"error=(\d{3})", text):
        return f"HTTP {code.group(1)} from the target"
    if re.search(r"connection error|timed? ?out", text, re.IGNORECASE):
        return "connection error or timeout"
    return "the target did not accept the notification"


# Services that render whatever text they are sent as Markdown (apprise's scheme names; a native
# https://discord.com/api/webhooks/… URL resolves to "discord" too). Plain text there, or HTML that
# apprise turns into text for them, would let a post restyle the alert, show an image or forge a link,
# so they always get escaped Markdown, whatever the target's ``format``.
RENDERS_MARKDOWN = frozenset({"discord", "guilded", "mmost", "revolt", "ryver", "zulip"})


def writer_format(plugin: apprise.URLBase, configured: str | None) -> str:
    """How to write messages for a target: escaped Markdown for a service that renders it, else the
    target's ``format`` or, by default, the first one the plugin lists."""
    schemes = {name for value in (plugin.protocol, plugin.secure_protocol)
               for name in ((value,) if isinstance(value, str) else value or ())}
    if schemes & RENDERS_MARKDOWN:
        return "markdown"
    if configured:
        return configured
    fmt = plugin.notify_format
    return str((fmt[0] if isinstance(fmt, tuple) else fmt).value)


# The most apprise adds to join a title to the body where they share a field: "<b>…</b><br />\r\n".
_TITLE_JOIN = 16
# Where apprise declares less than the service takes, the service's own limit: a Teams Workflows card takes
# 28 KB (apprise says 1,000 characters, which left a grouped alert one item; 8,000 UTF-16 units stay within
# 28 KB in any script), Rocket.Chat 5,000 characters (its Message_MaxAllowedSize default).
_SERVICE_LENGTHS = {"workflow": 8_000, "workflows": 8_000, "rocket": 5_000, "rockets": 5_000}


def _length(text: str) -> int:
    """Characters as chat services count them: UTF-16 code units (an emoji is two), never fewer than Python's."""
    return len(text.encode("utf-16-le")) // 2


class Sender:
    """One apprise target with the configured timeouts."""

    def __init__(self, target: Target, timeout_seconds: float) -> None:
        parsed = apprise.plugins.url_to_dict(target.url)
        plugin = apprise.Apprise.instantiate(parsed) if parsed is not None else None
        if plugin is None:  # resolve_targets checks this; kept for callers that build Targets by hand
            raise ValueError(f"alert target {target.name}: unsupported apprise URL")
        plugin.socket_connect_timeout = plugin.socket_read_timeout = timeout_seconds
        self.format = writer_format(plugin, target.settings.format)
        self._plugin = plugin
        self._body_format = apprise.NotifyFormat(self.format)
        self._sent_format = plugin.resolve_format(self._body_format)
        # No title field (Telegram, Mattermost), or one that shares the body's text and limit (Discord): the title is
        # shown in the message text, rendered like it. Slack, email and Zulip show it apart, as plain text.
        self.title_in_body = plugin.title_maxlen <= 0 or plugin.overflow_amalgamate_title
        # Apprise sends an over-long message as it is by default, and the service refuses it (Discord answers 400 to
        # every retry). Messages are rendered to fit the plugin's limit instead, and apprise cuts what still cannot
        # (a title alone is more than a text message's 160 characters); an overflow= in the URL is kept as asked.
        protocols = {p for attribute in (plugin.protocol, plugin.secure_protocol)
                     for p in ((attribute,) if isinstance(attribute, str) else attribute or ())}
        declared = max([plugin.body_maxlen, *(_SERVICE_LENGTHS.get(p, 0) for p in protocols)])
        self._max_length = declared if "overflow" not in parsed and plugin.body_maxlen > 0 else None
        if self._max_length is not None and self._max_length <= plugin.body_maxlen:  # not above apprise's own
            plugin.overflow_mode = apprise.OverflowMode.TRUNCATE
        self._apprise = apprise.Apprise()
        self._apprise.add(plugin)

    def style(self, settings: AlertSettings) -> Style:
        """How to render messages for this target."""
        return Style(WRITERS[self.format], settings.excerpt_chars, settings.max_items_per_message,
                     settings.dashboard_item_url, self.title_in_body, self.fits)

    def fits(self, message: Message) -> bool:
        """Whether the service takes the message in one piece, as apprise will send it: converted to the format the
        plugin sends, in the service's own markup, with the title where it shares the body's field."""
        if self._max_length is None:
            return True
        length = _length(self._as_sent(message.body))
        if self.title_in_body and message.title:
            length += _length(self._as_sent(message.title)) + _TITLE_JOIN
        return length <= self._max_length

    def _as_sent(self, text: str) -> str:
        return self._plugin.dialect_convert(convert_between(self._body_format, self._sent_format, text),
                                            self._sent_format)

    def send(self, title: str, body: str, level: str) -> str | None:
        """None when delivered, else a short reason safe to store and show."""
        try:
            result = self._apprise.notify(
                title=title, body=body, body_format=self._body_format, notify_type=_NOTIFY_TYPES[level]
            )
        except Exception as exc:  # a plugin bug must not kill the worker
            return f"unexpected {exc.__class__.__name__}"
        return None if result else _summarise([entry.message for entry in result.logs()])


class DeliveryWorker(threading.Thread):
    def __init__(self, db: Database, settings: AlertSettings, target: Target, clock: Callable[[], datetime],
                 in_quiet_hours: Callable[[Target, datetime], bool]) -> None:
        super().__init__(daemon=True, name=f"alerts-{target.name}")
        self.db, self.settings, self.target, self.clock = db, settings, target, clock
        self.in_quiet_hours = in_quiet_hours
        self.sender = Sender(target, settings.delivery.timeout_seconds)
        self.wake = threading.Event()
        self.stopping = threading.Event()
        # A claim older than this was left by a process that died mid-send; send it again.
        self.lease = timedelta(seconds=2 * settings.delivery.timeout_seconds + 60)

    def stop(self) -> None:
        self.stopping.set()
        self.wake.set()

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                worked = self.deliver_one()
            except Exception:  # e.g. the database briefly unavailable: try again later
                log.exception("alert delivery to %s failed unexpectedly", self.target.name)
                worked = False
            if not worked:
                self.wake.wait(IDLE_POLL_SECONDS)
                self.wake.clear()

    def _claim(self, now: datetime) -> int | None:
        due = (AlertEvent.status == AlertStatus.PENDING.value) & (AlertEvent.due_at <= now)
        stale = (AlertEvent.status == AlertStatus.SENDING.value) & (AlertEvent.claimed_at < now - self.lease)
        with self.db.write() as session:
            event_id = session.scalar(
                select(AlertEvent.id).where(AlertEvent.target == self.target.name, or_(due, stale))
                .order_by(AlertEvent.due_at, AlertEvent.id).limit(1)
            )
            if event_id is None:
                return None
            claimed = session.execute(
                update(AlertEvent).where(AlertEvent.id == event_id, or_(due, stale))
                .values(status=AlertStatus.SENDING.value, claimed_at=now, attempts=AlertEvent.attempts + 1)
            ).rowcount
            return event_id if claimed else None

    def deliver_one(self) -> bool:
        """Send the next due event of this target, if any; True if there was one."""
        event_id = self._claim(self.clock())
        if event_id is None:
            return False
        try:
            rule, message, unsent = self._compose(event_id)
        except Exception as exc:  # a bug or an odd row: a failed attempt (retried, then failed), never stuck 'sending'
            log.exception("alert %d to %s could not be prepared", event_id, self.target.name)
            self._record(event_id, None, f"unexpected {exc.__class__.__name__} while preparing the alert")
            return True
        error = None if message is None else self.sender.send(message.title, message.body, RULE_LEVELS[rule])
        self._record(event_id, unsent, error)
        return True

    def _compose(self, event_id: int) -> tuple[str, Message | None, str | None]:
        """The event's rule and its message, or no message and why: too late, quiet hours, or none of an
        item alert's mentions still due (or still urgent)."""
        now = self.clock()
        with self.db.read() as session:
            event = session.get(AlertEvent, event_id)
            assert event is not None
            if event.due_at is not None and event.due_at < now - LATE_LIMIT:
                return event.rule, None, (f"not sent: due at {event.due_at:%Y-%m-%d %H:%M} UTC, "
                                          f"over {LATE_LIMIT.days} days ago")
            if event.rule != "digest" and self.in_quiet_hours(self.target, now):
                return event.rule, None, "quiet hours"
            composed = compose(session, event, self.settings, self.sender.style(self.settings))
            return (event.rule, None, composed) if isinstance(composed, str) else (event.rule, composed, None)

    def _record(self, event_id: int, unsent: str | None, error: str | None) -> None:
        """The attempt's outcome: suppressed (``unsent`` says why), sent, or failed and retried after a
        back-off until ``max_attempts``."""
        now = self.clock()
        with self.db.write() as session:
            event = session.get(AlertEvent, event_id)
            assert event is not None
            if unsent is not None:
                event.status, event.reason = AlertStatus.SUPPRESSED.value, unsent
            elif error is None:
                event.status, event.sent_at, event.error = AlertStatus.SENT.value, now, None
            elif event.attempts >= self.settings.delivery.max_attempts:
                event.status, event.error = AlertStatus.FAILED.value, error
                log.warning("alert %d to %s failed for good after %d attempts: %s", event_id, self.target.name, event.attempts, error)
            else:
                d = self.settings.delivery
                delay = doubled(d.backoff_seconds, event.attempts - 1, d.backoff_max_seconds)
                event.status, event.error, event.due_at = AlertStatus.PENDING.value, error, now + timedelta(seconds=delay)
                log.warning("alert %d to %s failed (attempt %d), retrying in %gs: %s", event_id, self.target.name, event.attempts, delay, error)
