"""Reading the alert record for `mentiondesk status` and the dashboard (target names only, no URLs)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, true

from monitor.alerts.models import AlertEvent, AlertStatus
from monitor.models import Brand
from monitor.storage import Database


@dataclass(frozen=True)
class AlertEventView:
    id: int
    created_at: datetime
    rule: str
    brand: str | None
    target: str
    status: str
    reason: str | None
    error: str | None
    attempts: int
    mention_ids: list[int]
    sent_at: datetime | None
    due_at: datetime | None


@dataclass(frozen=True)
class AlertSummary:
    since: datetime
    by_status: dict[str, int]
    # targets whose latest finished event failed or missed some of the target's channels, or that are retrying
    failing_targets: list[str]
    last_sent_at: datetime | None


def recent_events(db: Database, limit: int = 20) -> list[AlertEventView]:
    with db.read() as session:
        rows = session.execute(
            select(AlertEvent, Brand.name).outerjoin(Brand, Brand.id == AlertEvent.brand_id)
            .order_by(AlertEvent.id.desc()).limit(limit)
        ).all()
        return [
            AlertEventView(
                id=e.id, created_at=e.created_at, rule=e.rule, brand=brand, target=e.target, status=e.status,
                reason=e.reason, error=e.error, attempts=e.attempts, mention_ids=list(e.mention_ids),
                sent_at=e.sent_at, due_at=e.due_at,
            )
            for e, brand in rows
        ]


def alert_summary(db: Database, now: datetime, hours: float = 24.0,
                  targets: Collection[str] | None = None) -> AlertSummary:
    """``targets``: the configured targets' names, the only ones that can be failing (a removed or renamed
    target's last alert waits for a retry for good); None: every target in the record."""
    since = now - timedelta(hours=hours)
    configured = true() if targets is None else AlertEvent.target.in_(targets)
    with db.read() as session:
        by_status = dict(session.execute(
            select(AlertEvent.status, func.count()).where(AlertEvent.created_at >= since).group_by(AlertEvent.status)
        ).all())
        failing = set(session.scalars(select(AlertEvent.target).where(
            configured, AlertEvent.status == AlertStatus.PENDING.value, AlertEvent.error.is_not(None))))
        latest = (
            select(AlertEvent.target, func.max(AlertEvent.id).label("id"))
            .where(configured, AlertEvent.status.in_((AlertStatus.SENT.value, AlertStatus.FAILED.value)))
            .group_by(AlertEvent.target).subquery()
        )
        failing |= set(session.scalars(
            select(AlertEvent.target).join(latest, latest.c.id == AlertEvent.id)
            .where((AlertEvent.status == AlertStatus.FAILED.value) | AlertEvent.error.is_not(None))  # sent, not to all
        ))
        last_sent = session.scalar(select(func.max(AlertEvent.sent_at)))
    return AlertSummary(since, by_status, sorted(failing), last_sent)
