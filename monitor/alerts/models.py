"""The alert record: every alert decided, whether sent, held, suppressed or failed.

It doubles as the delivery outbox: ``pending`` rows are what the delivery workers send once
``due_at`` has passed, so a restart loses nothing and polling never waits on a chat service.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from monitor.models import Base, JSONType, UTCDateTime, utcnow


class AlertStatus(str, enum.Enum):
    PENDING = "pending"  # waiting for due_at (grouping window, cooldown or retry back-off)
    SENDING = "sending"  # claimed by a delivery worker
    SENT = "sent"
    # decided but not sent: cooldown, quiet hours, or its mentions closed or answered while it waited;
    # `reason` says which
    SUPPRESSED = "suppressed"
    FAILED = "failed"  # gave up after the configured attempts


class AlertEvent(Base):
    __tablename__ = "alert_events"
    __table_args__ = (
        # One decision per target and dedupe key (a spike per brand and hour, a digest per day…).
        UniqueConstraint("target", "dedupe_key"),
        Index("ix_alert_events_due", "status", "due_at"),
        Index("ix_alert_events_recent", "target", "rule", "brand_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rule: Mapped[str] = mapped_column(String(32))
    brand_id: Mapped[int | None] = mapped_column(ForeignKey("brands.id", ondelete="CASCADE"))
    target: Mapped[str] = mapped_column(String(100))  # the target's name; never its URL
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    dedupe_key: Mapped[str] = mapped_column(String(200))
    mention_ids: Mapped[list[int]] = mapped_column(JSONType, default=list)
    # What the rule saw (spike counts and baseline, digest figures), rendered at send time.
    details: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
