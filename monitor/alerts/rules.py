"""Which mentions and moments deserve an alert; pure decisions, no delivery."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from sqlalchemy import select, true
from sqlalchemy.orm import Session

from monitor.alerts.settings import AlertSettings, SlaRule, Target, UrgentRule
from monitor.models import Mention, MentionStatus

_OPEN_STATUSES = (MentionStatus.NEW.value, MentionStatus.OPEN.value)


def _label(m: Mention) -> str | None:
    return m.human_sentiment_label or m.sentiment_label  # a person's correction wins


def urgent_reason(m: Mention, rule: UrgentRule) -> str | None:
    """Why this mention is urgent (shown in the alert), or None."""
    text = m.text.lower()
    for word in rule.keywords:
        if re.search(rf"(?<!\w){re.escape(word)}(?!\w)", text):
            return f'keyword "{word}"'
    if (
        _label(m) == "negative"
        and (m.sentiment_score or 0.0) >= rule.negative_min_score
        and (m.author_followers or 0) >= rule.negative_min_followers
    ):
        return "negative with high reach"
    if rule.min_priority is not None and m.priority is not None and m.priority >= rule.min_priority:
        return f"priority {m.priority:.0f}"
    return None


def sla_at_risk(session: Session, brand_id: int, rule: SlaRule, now: datetime) -> list[int]:
    """Unanswered mentions needing a response whose deadline is within ``warn_before_minutes``.

    Ones already past the deadline are left out: the warning is for what can still be saved, and
    the dashboard queue shows the overdue ones.
    """
    response = timedelta(minutes=rule.response_minutes)
    return list(
        session.scalars(
            select(Mention.id).where(
                Mention.brand_id == brand_id,
                Mention.needs_response.is_(True),
                Mention.first_response_at.is_(None),
                Mention.status.in_(_OPEN_STATUSES),
                Mention.priority >= rule.min_priority if rule.min_priority > 0 else true(),
                Mention.created_at > now - response,
                Mention.created_at <= now - response + timedelta(minutes=rule.warn_before_minutes),
            ).order_by(Mention.id)
        )
    )


def in_quiet_hours(settings: AlertSettings, target: Target, now: datetime) -> bool:
    if settings.quiet_hours is None or target.settings.ignore_quiet_hours:
        return False
    return settings.quiet_hours.contains(now.astimezone(settings.zone).time())
