"""Sending alert events through apprise, one background worker per target.

The engine only writes ``pending`` rows; workers claim due rows with a conditional UPDATE (so two
processes never send the same one), send, renewing the claim before each recipient, and record the outcome.
Apprise has per-request timeouts but no retries, so failures are retried here with exponential back-off by setting
a new ``due_at``; after ``max_attempts`` the event is ``failed``. A hung or failing target only delays
its own worker, never polling nor the other targets.

A target naming several channels, chats or addresses is sent to each on its own, and the event keeps which of
them have had it (``details["delivered"]``): a retry goes only to those that missed it, and one that never takes
it leaves the event ``sent``, with an error naming it, rather than ``failed`` as if nobody had been told.
"""

from __future__ import annotations

import itertools
import logging
import re
import threading
from collections import defaultdict
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

import apprise
from apprise.conversion import convert_between
from apprise.utils.parse import parse_list
from sqlalchemy import or_, select, update
from sqlalchemy.exc import SQLAlchemyError

from monitor.alerts.compose import compose
from monitor.alerts.format import WRITERS, Message, Style
from monitor.alerts.models import AlertEvent, AlertStatus
from monitor.alerts.settings import RULE_LEVELS, AlertSettings, Target
from monitor.backoff import doubled
from monitor.storage import Database, DatabaseFull

log = logging.getLogger("mentiondesk.alerts")

IDLE_POLL_SECONDS = 1.0
# An outcome the database would not take (a PostgreSQL restart, SQLite locked past its busy timeout) is tried again
# this soon, doubling up to the most: left 'sending', the event would be claimed again after the lease and sent twice.
RECORD_RETRY_SECONDS, RECORD_RETRY_MAX_SECONDS = 0.5, 5.0
# The event's details key: each recipient that has had the alert, and the mentions it was sent.
DELIVERED = "delivered"
# An alert that could not go out within this long of coming due (its target taken out of the config and put back,
# or every process down) is old news: the queue shows its mentions, so it is suppressed rather than sent.
LATE_LIMIT = timedelta(days=3)
# Apprise gives up on a recipient after this long, its retries and waits (``?retry=N&wait=S`` in the URL) included:
# its own default, set explicitly, as a claim must outlast it.
RECIPIENT_SECONDS = 60.0
# How much longer than one recipient's send a claim lasts: the database reads and writes around it.
CLAIM_MARGIN = timedelta(seconds=60)
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


def _one_per_recipient(parsed: dict[str, Any], plugin: apprise.URLBase, name: str) -> dict[str, apprise.URLBase]:
    """The target as one service per channel, chat or address its URL names (apprise's ``targets``), each under that
    name (which apprise's privacy mode shows too), so that each is sent to and retried on its own: one refusing the
    alert must not have the others sent it again. A URL naming one, or a service whose requests do not go one to a
    target (Pushover sends to all its devices at once), stays one service, under the target's name."""
    recipients = list(dict.fromkeys(parse_list(parsed.get("targets") or [], allow_whitespace=False, sort=False)))
    if len(recipients) > 1:
        each = {recipient: apprise.Apprise.instantiate({**parsed, "targets": [recipient]}, asset=plugin.asset)
                for recipient in recipients}
        # len() is the requests a service makes: the pieces must make the whole one's between them.
        if all(each.values()) and sum(len(service) for service in each.values()) == len(plugin):
            return each
    return {name: plugin}


class Sender:
    """One apprise target with the configured timeouts, sent to each of its recipients on its own."""

    def __init__(self, target: Target, timeout_seconds: float) -> None:
        # Apprise's deadline for each recipient, no shorter than one attempt's connect and read timeouts.
        self.recipient_seconds = max(RECIPIENT_SECONDS, 2 * timeout_seconds)
        parsed = apprise.plugins.url_to_dict(target.url)
        asset = apprise.AppriseAsset(service_timeout=self.recipient_seconds)
        plugin = apprise.Apprise.instantiate(parsed, asset=asset) if parsed is not None else None
        if plugin is None:  # resolve_targets checks this; kept for callers that build Targets by hand
            raise ValueError(f"alert target {target.name}: unsupported apprise URL")
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
        truncate = self._max_length is not None and self._max_length <= plugin.body_maxlen  # not above apprise's own
        self._services: dict[str, apprise.Apprise] = {}
        for recipient, service in _one_per_recipient(parsed, plugin, target.name).items():
            service.socket_connect_timeout = service.socket_read_timeout = timeout_seconds
            if truncate:
                service.overflow_mode = apprise.OverflowMode.TRUNCATE
            self._services[recipient] = apprise.Apprise()
            self._services[recipient].add(service)
        self.recipients = list(self._services)

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

    def send_each(self, recipients: Collection[str], title: str, body: str, level: str,
                  withheld: Callable[[], str | None] = lambda: None) -> dict[str, str]:
        """The recipients that did not take the message, each with a short reason safe to store and show. Before each
        one, ``withheld`` says why it is not sent to, if it is not."""
        refused = {}
        for recipient in recipients:
            if (reason := withheld()) is not None:
                refused[recipient] = reason
                continue
            try:
                result = self._services[recipient].notify(
                    title=title, body=body, body_format=self._body_format, notify_type=_NOTIFY_TYPES[level]
                )
            except Exception as exc:  # a plugin bug must not kill the worker
                refused[recipient] = f"unexpected {exc.__class__.__name__}"
                continue
            if not result:
                refused[recipient] = _summarise([entry.message for entry in result.logs()])
        return refused

    def failure(self, refused: dict[str, str], delivered: Collection[str]) -> str:
        """Why the alert did not reach everyone: the reason, naming who missed it where the target has several."""
        if len(self.recipients) == 1:
            [reason] = refused.values()
            return reason
        missed = ", ".join(f"{recipient} ({reason})" for recipient, reason in refused.items())
        reached = ", ".join(r for r in self.recipients if r in delivered)
        return f"delivered to {reached}; not to {missed}" if reached else f"not delivered to {missed}"


class Claim(NamedTuple):
    event_id: int
    attempt: int  # the event's attempts as claimed: another claim counts one more


@dataclass(frozen=True)
class Plan:
    """One attempt at an event: its message to each recipient still owed one, or why they get none."""

    rule: str
    ids: list[int]  # the event's mentions as composed: a recipient that takes its message has had them all
    messages: list[tuple[Message, list[str]]]
    caught_up: list[str]  # recipients that had the alert, and nothing still due has joined it since
    unsent: str | None  # why the recipients never sent it get nothing: too late, quiet hours, none of it still due


class DeliveryWorker(threading.Thread):
    def __init__(self, db: Database, settings: AlertSettings, target: Target, clock: Callable[[], datetime],
                 in_quiet_hours: Callable[[Target, datetime], bool]) -> None:
        super().__init__(daemon=True, name=f"alerts-{target.name}")
        self.db, self.settings, self.target, self.clock = db, settings, target, clock
        self.in_quiet_hours = in_quiet_hours
        self.sender = Sender(target, settings.delivery.timeout_seconds)
        self.wake = threading.Event()
        self.stopping = threading.Event()
        # A claim is renewed before each recipient, and apprise gives up on one within recipient_seconds: a claim older
        # than this was left by a process that died (or stalled) mid-send; send it again.
        self.lease = timedelta(seconds=self.sender.recipient_seconds) + CLAIM_MARGIN

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

    def _claim(self, now: datetime) -> Claim | None:
        due = (AlertEvent.status == AlertStatus.PENDING.value) & (AlertEvent.due_at <= now)
        stale = (AlertEvent.status == AlertStatus.SENDING.value) & (AlertEvent.claimed_at < now - self.lease)
        with self.db.write() as session:
            event_id = session.scalar(
                select(AlertEvent.id).where(AlertEvent.target == self.target.name, or_(due, stale))
                .order_by(AlertEvent.due_at, AlertEvent.id).limit(1)
            )
            if event_id is None:
                return None
            attempt = session.scalar(
                update(AlertEvent).where(AlertEvent.id == event_id, or_(due, stale))
                .values(status=AlertStatus.SENDING.value, claimed_at=now, attempts=AlertEvent.attempts + 1)
                .returning(AlertEvent.attempts),
                execution_options={"synchronize_session": False},
            )
            return None if attempt is None else Claim(event_id, attempt)

    def _renew(self, claim: Claim) -> str | None:
        """Before the next recipient, the claim made current, so that it never looks left by a dead process while this
        one sends; or why the recipient is not sent to: the claim taken over, or the database not answering."""
        try:
            with self.db.write() as session:
                renewed = session.execute(
                    update(AlertEvent).where(AlertEvent.id == claim.event_id, AlertEvent.attempts == claim.attempt,
                                             AlertEvent.status == AlertStatus.SENDING.value)
                    .values(claimed_at=self.clock())
                ).rowcount
        except (SQLAlchemyError, DatabaseFull):
            log.warning("alert %d to %s: its claim could not be renewed", claim.event_id, self.target.name,
                        exc_info=True)
            return "not tried: the database did not answer"
        return None if renewed else "not tried: another process took the alert over"

    def deliver_one(self) -> bool:
        """Send the next due event of this target, if any; True if there was one."""
        claim = self._claim(self.clock())
        if claim is None:
            return False
        try:
            plan = self._compose(claim.event_id)
        except Exception as exc:  # a bug or an odd row: a failed attempt (retried, then failed), never stuck 'sending'
            log.exception("alert %d to %s could not be prepared", claim.event_id, self.target.name)
            self._record_until_stored(claim, None, {},
                                      f"unexpected {exc.__class__.__name__} while preparing the alert")
            return True
        refused: dict[str, str] = {}
        for message, recipients in plan.messages:
            refused |= self.sender.send_each(recipients, message.title, message.body, RULE_LEVELS[plan.rule],
                                             lambda: self._renew(claim))
        self._record_until_stored(claim, plan, refused, None)
        return True

    def _compose(self, event_id: int) -> Plan:
        """The event's message to each recipient still owed one: all of it to those that never had it, what joined it
        since to those that did (a mention grouped into it while it waited to be retried); or no message and why:
        too late, quiet hours, or none of an item alert's mentions still due (or still urgent)."""
        now = self.clock()
        with self.db.read() as session:
            event = session.get(AlertEvent, event_id)
            assert event is not None
            ids = list(event.mention_ids)
            if event.due_at is not None and event.due_at < now - LATE_LIMIT:
                return Plan(event.rule, ids, [], [], (f"not sent: due at {event.due_at:%Y-%m-%d %H:%M} UTC, "
                                                      f"over {LATE_LIMIT.days} days ago"))
            if event.rule != "digest" and self.in_quiet_hours(self.target, now):
                return Plan(event.rule, ids, [], [], "quiet hours")
            delivered: dict[str, list[int]] = event.details.get(DELIVERED) or {}
            owed: dict[tuple[int, ...] | None, list[str]] = defaultdict(list)  # None: the whole alert
            for recipient in self.sender.recipients:
                if recipient not in delivered:
                    owed[None].append(recipient)
                elif joined := tuple(sorted(set(ids) - set(delivered[recipient]))):
                    owed[joined].append(recipient)
            messages, caught_up, unsent = [], [], None
            style = self.sender.style(self.settings)
            for joined, recipients in owed.items():
                part = event if joined is None else AlertEvent(rule=event.rule, brand_id=event.brand_id,
                                                                mention_ids=list(joined), details=event.details)
                composed = compose(session, part, self.settings, style)
                if isinstance(composed, Message):
                    messages.append((composed, recipients))
                elif joined is None:
                    unsent = composed
                else:
                    caught_up += recipients
            return Plan(event.rule, ids, messages, caught_up, unsent)

    def _record_until_stored(self, claim: Claim, plan: Plan | None, refused: dict[str, str],
                             error: str | None) -> None:
        """Record the attempt, trying again while the database fails: what was delivered must not be sent again."""
        event_id = claim.event_id
        for failures in itertools.count():
            try:
                self._record(claim, plan, refused, error)
                return
            except (SQLAlchemyError, DatabaseFull):
                wait = doubled(RECORD_RETRY_SECONDS, failures, RECORD_RETRY_MAX_SECONDS)
                log.warning("alert %d to %s: its outcome could not be recorded, trying again in %gs",
                            event_id, self.target.name, wait, exc_info=True)
            if self.stopping.wait(wait):
                log.error("alert %d to %s: stopped before its outcome was recorded; it is sent again once its claim "
                          "expires", event_id, self.target.name)
                return

    def _record(self, claim: Claim, plan: Plan | None, refused: dict[str, str], error: str | None) -> None:
        """The attempt's outcome: sent, or suppressed (``unsent`` says why), or failed (the attempt as a whole,
        ``error``, or some recipients, ``refused``) and retried after a back-off until ``max_attempts``. An alert
        some recipients had is ``sent`` in the end, with an error naming those it never reached."""
        now, event_id = self.clock(), claim.event_id
        with self.db.write() as session:
            event = session.get(AlertEvent, event_id, with_for_update=True)
            assert event is not None
            delivered: dict[str, list[int]] = dict(event.details.get(DELIVERED) or {})
            if plan is not None:
                took = [r for _, recipients in plan.messages for r in recipients if r not in refused]
                if took:
                    event.sent_at = now
                if took or plan.caught_up:
                    delivered |= dict.fromkeys([*took, *plan.caught_up], plan.ids)
                    event.details = {**event.details, DELIVERED: delivered}
            if (event.status, event.attempts) != (AlertStatus.SENDING.value, claim.attempt):
                # Taken over while this process stalled past the lease: the outcome is the other's to record, but who
                # had the alert from this one is kept, so that a retry does not send it to them again.
                log.warning("alert %d to %s was taken over by another process", event_id, self.target.name)
                return
            if plan is None or refused:
                error = error if plan is None else self.sender.failure(refused, delivered)
                if event.attempts >= self.settings.delivery.max_attempts:
                    event.status = (AlertStatus.SENT if delivered else AlertStatus.FAILED).value
                    event.error = error
                    log.warning("alert %d to %s failed for good after %d attempts: %s", event_id, self.target.name, event.attempts, error)
                else:
                    d = self.settings.delivery
                    delay = doubled(d.backoff_seconds, event.attempts - 1, d.backoff_max_seconds)
                    event.status, event.error, event.due_at = AlertStatus.PENDING.value, error, now + timedelta(seconds=delay)
                    log.warning("alert %d to %s failed (attempt %d), retrying in %gs: %s", event_id, self.target.name, event.attempts, delay, error)
            elif delivered:
                event.status = AlertStatus.SENT.value
                if plan.unsent is not None:  # those that missed it earlier get nothing now
                    event.reason = plan.unsent
                else:
                    event.error = None
            else:
                event.status, event.reason = AlertStatus.SUPPRESSED.value, plan.unsent
