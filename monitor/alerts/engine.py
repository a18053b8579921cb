"""The alert engine: decides alerts and records them; delivery happens on background workers.

``on_new_mentions(ids)`` runs as each read of mentions is classified (urgent items); ``tick(now)``
runs periodically, e.g. every minute (spikes, SLA warnings, the daily digest), and first checks the
classified mentions whose urgent check never happened (an :class:`~monitor.models.AlertCheck` row
left by a pipeline that failed or died between classifying and alerting). Both only read and write
the database, so they never wait on a chat service.

Noise controls, per target:
- de-duplication: a mention is alerted at most once per rule and target; a spike at most once per
  brand and hour, a digest once per day (a unique ``(target, dedupe_key)``). Item decisions for a
  brand take a lock on its row, so two processes deciding at once take turns and see each other's;
- grouping and cooldown (item rules): items arriving while an alert is still unsent (or waiting to
  retry) join it; after a send, or while one is under way, new items wait together until
  ``cooldown_minutes`` have passed, then go as one message;
- cooldown (spikes): a repeat within the cooldown is recorded as suppressed;
- quiet hours: checked at send time, so held alerts that come due at night are suppressed too;
- still due: at send time an urgent alert leaves out mentions closed or no longer urgent since, an
  SLA warning those answered or closed since, both those moved to another brand or whose brand was
  made a competitor since; one with none left is suppressed. An SLA warning is never held past the
  earliest response deadline of its items.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import BigInteger, cast, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from monitor.alerts.delivery import DeliveryWorker
from monitor.alerts.models import AlertEvent, AlertStatus
from monitor.alerts.rules import AWAITING_RESPONSE, OPEN_STATUSES, in_quiet_hours, sla_at_risk, urgent_reason
from monitor.alerts.settings import AlertSettings, Rules, SpikeRule, Target
from monitor.alerts.spikes import WindowCounts, detect, recent_and_baseline
from monitor.models import AlertCheck, Brand, Mention, utcnow
from monitor.queue import effective_sentiment
from monitor.storage import Database

# How far back "already alerted for this mention" looks, at least: a rule whose items stay alertable
# longer (an SLA warning window) looks back that far.
DEDUPE_HORIZON = timedelta(days=3)
_ACTIVE = (AlertStatus.PENDING.value, AlertStatus.SENDING.value, AlertStatus.SENT.value)
_ID_CHUNK = 500


class AlertEngine:
    """``brand_keys``: the brands in the current config, the only ones the time-based rules run for (a
    brand taken out of the config keeps its row and mentions); None runs them for every stored brand."""

    def __init__(self, db: Database, settings: AlertSettings, targets: Sequence[Target],
                 clock: Callable[[], datetime] = utcnow, brand_keys: Collection[str] | None = None) -> None:
        self.db, self.settings, self.targets, self.clock = db, settings, list(targets), clock
        self.brand_keys = brand_keys
        self.workers = [
            DeliveryWorker(db, settings, t, clock, lambda target, now: in_quiet_hours(settings, target, now))
            for t in self.targets
        ]

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> "AlertEngine":
        for worker in self.workers:
            worker.start()
        return self

    def close(self, timeout: float = 5.0) -> None:
        """Stop the workers; a send in flight is bounded by the apprise timeout."""
        for worker in self.workers:
            worker.stop()
        for worker in self.workers:
            if worker.is_alive():
                worker.join(timeout)

    def __enter__(self) -> "AlertEngine":
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.close()

    def wake(self) -> None:
        for worker in self.workers:
            worker.wake.set()

    def drain(self, timeout: float) -> bool:
        """Wait until nothing is due or being sent (for the demo, `poll --once` and tests)."""
        deadline = time.monotonic() + timeout
        names = [t.name for t in self.targets]
        while True:
            self.wake()
            with self.db.read() as session:
                busy = session.scalar(
                    select(func.count()).where(
                        AlertEvent.target.in_(names),
                        ((AlertEvent.status == AlertStatus.PENDING.value) & (AlertEvent.due_at <= self.clock()))
                        | (AlertEvent.status == AlertStatus.SENDING.value),
                    )
                )
            if not busy:
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)

    # -- rules --------------------------------------------------------------------------------

    def on_new_mentions(self, ids: Iterable[int], now: datetime | None = None) -> int:
        """Alert on urgent items among newly classified mentions; returns how many events changed.

        Their pending alert checks are deleted in the same transaction, so a failure leaves them for
        the next tick's sweep and a success is never repeated by it."""
        now = now or self.clock()
        ids = sorted(set(ids))
        changed = 0
        with self.db.write() as session:
            by_brand: dict[int, dict[int, str]] = defaultdict(dict)
            # Read before the mentions: a check committed after this comes with a classification they may lack.
            checked: list[int] = []
            for start in range(0, len(ids), _ID_CHUNK):
                chunk = ids[start:start + _ID_CHUNK]
                checked += session.scalars(select(AlertCheck.mention_id).where(AlertCheck.mention_id.in_(chunk)))
                for m in session.scalars(select(Mention).where(Mention.id.in_(chunk))):
                    brand = session.get(Brand, m.brand_id) if m.brand_id is not None else None
                    # A competitor's posts are not the team's to answer: a rival's customer writing "scam" pages
                    # nobody, as no SLA warning or incident is raised for them.
                    if brand is None or brand.competitor or m.status not in OPEN_STATUSES:
                        continue
                    rules = self.settings.rules_for(brand.key)
                    if rules.urgent.enabled and (why := urgent_reason(m, rules.urgent)) is not None:
                        by_brand[m.brand_id][m.id] = why
            for brand_id, why in sorted(by_brand.items()):  # brand order: processes lock brands alike
                cooldown = self._rules(session, brand_id).urgent.cooldown_minutes
                changed += self._queue_items(session, "urgent", brand_id, why, cooldown, {}, now)
            for start in range(0, len(checked), _ID_CHUNK):
                session.execute(delete(AlertCheck).where(AlertCheck.mention_id.in_(checked[start:start + _ID_CHUNK])))
        if changed:
            self.wake()
        return changed

    def sweep(self, now: datetime | None = None) -> int:
        """The urgent check for classified mentions still waiting for it, oldest first; returns how
        many events changed."""
        changed, after = 0, 0
        while True:
            with self.db.read() as session:
                ids = list(session.scalars(
                    select(AlertCheck.mention_id).where(AlertCheck.mention_id > after)
                    .order_by(AlertCheck.mention_id).limit(_ID_CHUNK)))
            if not ids:
                return changed
            changed += self.on_new_mentions(ids, now)
            after = ids[-1]

    def tick(self, now: datetime | None = None) -> int:
        """Time-based rules for every configured brand, after the sweep of classified mentions never
        checked for urgent alerts; returns how many events were created or changed."""
        now = now or self.clock()
        changed = self.sweep(now)
        brands = select(Brand).order_by(Brand.id)
        if self.brand_keys is not None:
            brands = brands.where(Brand.key.in_(self.brand_keys))
        with self.db.write() as session:
            for brand in session.scalars(brands).all():
                rules = self.settings.rules_for(brand.key)
                # Both spike rules read one window's counts (total and negative): counted once.
                counted: dict[tuple[float, int], tuple[WindowCounts, list[WindowCounts]]] = {}
                for name in ("volume_spike", "negative_spike"):
                    rule: SpikeRule = getattr(rules, name)
                    if rule.enabled:
                        changed += self._spike(session, brand, name, rule, now, counted)
                # A competitor's posts are not the team's to answer: no SLA warning, as the queue and SLA page
                # leave them out.
                if rules.sla.enabled and not brand.competitor and (
                        deadlines := sla_at_risk(session, brand.id, rules.sla, now)):
                    details = {"response_minutes": rules.sla.response_minutes}
                    # An item stays at risk for up to warn_before_minutes: its warning is that recent.
                    look_back = max(DEDUPE_HORIZON, timedelta(minutes=rules.sla.warn_before_minutes))
                    changed += self._queue_items(session, "sla", brand.id, dict.fromkeys(deadlines, ""),
                                                 rules.sla.cooldown_minutes, details, now, look_back, deadlines)
                if rules.digest.enabled:
                    changed += self._digest(session, brand, rules, now)
        if changed:
            self.wake()
        return changed

    # -- decisions ------------------------------------------------------------------------------

    def _rules(self, session: Session, brand_id: int) -> Rules:
        brand = session.get(Brand, brand_id)
        return self.settings.rules_for(brand.key if brand else "")

    def _targets_for(self, session: Session, rule: str, brand_id: int) -> list[Target]:
        brand = session.get(Brand, brand_id)
        return [t for t in self.targets if t.settings.wants(rule, brand.key if brand else None)]

    def _queue_items(self, session: Session, rule: str, brand_id: int, why: dict[int, str],
                     cooldown_minutes: float, details: dict[str, Any], now: datetime,
                     look_back: timedelta = DEDUPE_HORIZON, deadlines: dict[int, datetime] | None = None) -> int:
        """Per target: drop items alerted within `look_back`, join an unsent alert, or open one (held for
        the cooldown, but never past the earliest of its items' `deadlines`)."""
        # Another process deciding for this brand now (PostgreSQL) finishes first, so the events read
        # below include its own; otherwise both would open an alert for the same items.
        session.execute(select(Brand.id).where(Brand.id == brand_id).with_for_update())
        changed = 0
        for target in self._targets_for(session, rule, brand_id):
            recent = session.scalars(
                select(AlertEvent).where(
                    AlertEvent.target == target.name, AlertEvent.rule == rule, AlertEvent.brand_id == brand_id,
                    AlertEvent.created_at >= now - look_back,
                ).order_by(AlertEvent.id).with_for_update()
            ).all()
            seen = {i for e in recent for i in e.mention_ids}
            unseen = {i: w for i, w in why.items() if i not in seen}
            fresh = _not_alerted_before_or_elsewhere(session, target.name, rule, brand_id, unseen, now - look_back)
            if not fresh:
                continue
            send_by = min(deadlines[i] for i in fresh) if deadlines else None
            # Grouping: join the alert that has not gone out yet, one waiting to retry too (its message is built from
            # mention_ids when it goes). Never one being sent: its message may be built already.
            waiting = next((e for e in recent if e.status == AlertStatus.PENDING.value), None)
            if waiting is not None:
                waiting.mention_ids = [*waiting.mention_ids, *fresh]
                waiting.details = {**waiting.details, "why": {**waiting.details.get("why", {}), **_why(fresh)}}
                if send_by is not None and waiting.due_at is not None and send_by < waiting.due_at:
                    waiting.due_at = send_by
                changed += 1
                continue
            # The cooldown runs from the last message sent, being sent or tried (a failed try may have got through).
            out = [moment for e in recent if e.status != AlertStatus.SUPPRESSED.value
                   and (moment := e.sent_at or e.claimed_at) is not None]
            due = now
            reason = None
            if out and max(out) + timedelta(minutes=cooldown_minutes) > now:
                due = max(out) + timedelta(minutes=cooldown_minutes)
                reason = f"held for the {cooldown_minutes:g}-minute cooldown; later items join it"
                if send_by is not None and send_by < due:
                    due = send_by
                    reason = (f"held for the {cooldown_minutes:g}-minute cooldown but not past the first "
                              "response deadline; later items join it")
            # A key taken meanwhile (another process, on a database without row locks) means these were
            # alerted: skip them rather than fail every decision in this transaction.
            changed += _insert(session, AlertEvent(
                rule=rule, brand_id=brand_id, target=target.name, status=AlertStatus.PENDING.value, reason=reason,
                dedupe_key=f"{rule}:{brand_id}:{min(fresh)}", mention_ids=sorted(fresh),
                details={**details, "why": _why(fresh)}, attempts=0, created_at=now, due_at=due,
            ))
        return changed

    def _spike(self, session: Session, brand: Brand, name: str, rule: SpikeRule, now: datetime,
               counted: dict[tuple[float, int], tuple[WindowCounts, list[WindowCounts]]]) -> int:
        window = timedelta(minutes=rule.window_minutes)
        key = (rule.window_minutes, rule.baseline_days)
        if key not in counted:
            counted[key] = recent_and_baseline(session, brand, now, window, rule.baseline_days, self.settings.zone)
        current, baseline = counted[key]
        pick = (lambda c: c.negative) if name == "negative_spike" else (lambda c: c.total)
        spike = detect(pick(current), [pick(b) for b in baseline], rule)
        if spike is None:
            return 0
        details = {
            "current": spike.current, "baseline_mean": round(spike.baseline_mean, 2), "zscore": round(spike.zscore, 2),
            "window_minutes": rule.window_minutes, "baseline_days": len(baseline),
        }
        examples = self._spike_examples(session, brand.id, name, now - window, now)
        changed = 0
        for target in self._targets_for(session, name, brand.id):
            key = f"{name}:{brand.id}:{now:%Y-%m-%dT%H}"  # one decision per target, brand and hour
            if session.scalar(select(AlertEvent.id).where(AlertEvent.target == target.name, AlertEvent.dedupe_key == key)):
                continue
            last = session.scalar(
                select(func.max(AlertEvent.created_at)).where(
                    AlertEvent.target == target.name, AlertEvent.rule == name, AlertEvent.brand_id == brand.id,
                    AlertEvent.status.in_(_ACTIVE),
                )
            )
            in_cooldown = last is not None and last + timedelta(minutes=rule.cooldown_minutes) > now
            changed += _insert(session, AlertEvent(
                rule=name, brand_id=brand.id, target=target.name, dedupe_key=key, mention_ids=examples,
                details=details, attempts=0, created_at=now,
                status=AlertStatus.SUPPRESSED.value if in_cooldown else AlertStatus.PENDING.value,
                reason=f"cooldown: a {name.replace('_', ' ')} alert went out at {last:%H:%M} UTC" if in_cooldown else None,
                due_at=None if in_cooldown else now,
            ))
        return changed

    def _spike_examples(self, session: Session, brand_id: int, name: str, start: datetime, end: datetime) -> list[int]:
        query = select(Mention.id).where(Mention.brand_id == brand_id, Mention.created_at >= start, Mention.created_at < end)
        if name == "negative_spike":
            query = query.where(effective_sentiment() == "negative")
        query = query.order_by(Mention.priority.desc().nulls_last(), Mention.id).limit(3)
        return list(session.scalars(query))

    def _digest(self, session: Session, brand: Brand, rules: Rules, now: datetime) -> int:
        local = now.astimezone(self.settings.zone)
        if local.time() < rules.digest.at:
            return 0
        since = now - timedelta(hours=24)
        in_day = (Mention.brand_id == brand.id) & (Mention.created_at >= since) & (Mention.created_at < now)
        total = session.scalar(select(func.count()).where(in_day)) or 0
        negative = session.scalar(select(func.count()).where(in_day, effective_sentiment() == "negative")) or 0
        unanswered = session.scalar(select(func.count()).where(in_day, AWAITING_RESPONSE)) or 0
        alerts = dict(session.execute(
            select(AlertEvent.status, func.count()).where(
                AlertEvent.brand_id == brand.id, AlertEvent.rule != "digest", AlertEvent.created_at >= since
            ).group_by(AlertEvent.status)
        ).all())
        top = list(session.scalars(
            select(Mention.id).where(in_day).order_by(Mention.priority.desc().nulls_last(), Mention.id)
            .limit(rules.digest.top_items)
        )) if rules.digest.top_items else []
        details = {
            "day": local.date().isoformat(), "total": total, "negative": negative, "unanswered": unanswered,
            "alerts_sent": alerts.get("sent", 0), "alerts_suppressed": alerts.get("suppressed", 0),
            "alerts_failed": alerts.get("failed", 0),
        }
        changed = 0
        for target in self._targets_for(session, "digest", brand.id):
            key = f"digest:{brand.id}:{details['day']}"
            if session.scalar(select(AlertEvent.id).where(AlertEvent.target == target.name, AlertEvent.dedupe_key == key)):
                continue
            changed += _insert(session, AlertEvent(
                rule="digest", brand_id=brand.id, target=target.name, status=AlertStatus.PENDING.value,
                dedupe_key=key, mention_ids=top, details=details, attempts=0, created_at=now, due_at=now,
            ))
        return changed


# Another brand's alerts that told the team of their mentions: one held, suppressed (its post moved away while it
# waited, see monitor.alerts.compose) or failed told nobody.
_DELIVERED = (AlertStatus.SENT.value, AlertStatus.SENDING.value)


def _not_alerted_before_or_elsewhere(session: Session, target: str, rule: str, brand_id: int, fresh: dict[int, str],
                                    before: datetime) -> dict[int, str]:
    """``fresh`` less the items in this brand's alerts created ``before`` the look-back, and in another brand's that
    went out or are going out.

    An item alerted days ago and checked again (ingest re-ranked its post) is not alerted twice, and an old alert's
    key (named for an id in it) is never taken by the new one, whose insert would collide and leave the new items
    never alerted. Nor is a post ingest moved from another brand (see ``monitor.ingest``), which is one mention
    whatever brand it is filed under; but one still waiting in another brand's alert is alerted here, as that alert
    leaves out what moved away when it goes (see ``monitor.alerts.compose``), and so is one whose alert there told
    nobody (suppressed or failed)."""
    if not fresh:
        return fresh
    # Each id in an alert's mention_ids, as a row (JSON on SQLite, JSONB on PostgreSQL).
    each = func.json_each if session.get_bind().dialect.name == "sqlite" else func.jsonb_array_elements_text
    element = each(AlertEvent.mention_ids).table_valued("value")
    # Another brand's alerts are read unlocked: locking them would take events of brands this process holds no
    # lock for, where two processes could each wait for the other.
    alerted = session.scalars(select(AlertEvent.mention_ids).where(
        AlertEvent.target == target, AlertEvent.rule == rule,
        ((AlertEvent.brand_id == brand_id) & (AlertEvent.created_at < before))
        | ((AlertEvent.brand_id != brand_id) & AlertEvent.status.in_(_DELIVERED)),
        select(element.c.value).where(cast(element.c.value, BigInteger).in_(fresh)).exists(),
    ))
    left_out = {i for ids in alerted for i in ids}
    return {i: w for i, w in fresh.items() if i not in left_out}


def _why(why: dict[int, str]) -> dict[str, str]:
    return {str(i): w for i, w in why.items() if w}


def _insert(session: Session, event: AlertEvent) -> int:
    """Add unless another process recorded the same (target, dedupe key) first."""
    try:
        with session.begin_nested():
            session.add(event)
        return 1
    except IntegrityError:
        return 0
