"""Which mentions and moments deserve an alert; pure decisions, no delivery."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import NamedTuple

from sqlalchemy import ColumnElement, select, true
from sqlalchemy.orm import Session

from connectors import keywords
from monitor.alerts.settings import AlertSettings, SlaRule, Target, UrgentRule
from monitor.models import Brand, Mention, MentionStatus

OPEN_STATUSES = (MentionStatus.NEW.value, MentionStatus.OPEN.value)  # what an alert is still about
OPEN = Mention.status.in_(OPEN_STATUSES)
AWAITING_RESPONSE = Mention.needs_response.is_(True) & Mention.first_response_at.is_(None) & OPEN


class StillDue(NamedTuple):
    """What an item alert's mentions must still be when it goes out (it may have waited for a cooldown)."""

    condition: ColumnElement[bool]
    otherwise: str  # the reason recorded when none of them is


# A brand flagged competitor while its SLA warning waited is no longer the team's to answer (see AlertEngine.tick).
OURS = Mention.brand_id.not_in(select(Brand.id).where(Brand.competitor.is_(True)))
STILL_DUE = {
    "urgent": StillDue(OPEN, "not sent: its mentions were closed while it waited"),
    "sla": StillDue(AWAITING_RESPONSE & OURS, "not sent: its mentions were answered or closed, "
                                              "or their brand made a competitor, while it waited"),
}

# An urgent alert's open mentions must still be urgent by urgent_reason (checked in Python when it is composed).
NO_LONGER_URGENT = "not sent: its mentions are no longer urgent (relabelled or re-ranked) while it waited"

# An item alert's mentions must still be filed under its brand, and that brand ours, when it goes out (checked when it
# is composed): ingest may have moved a post to another brand meanwhile, where it is alerted under that brand's name
# (see monitor.ingest), and a competitor's posts are not the team's to answer (see AlertEngine.on_new_mentions).
NOT_OURS_HERE = "not sent: its mentions moved to another brand, or their brand was made a competitor, while it waited"


def _label(m: Mention) -> str | None:
    return m.human_sentiment_label or m.sentiment_label  # a person's correction wins


def urgent_reason(m: Mention, rule: UrgentRule) -> str | None:
    """Why this mention is urgent (shown in the alert), or None."""
    # Found as the connectors find a brand's keywords: any case, typographic apostrophes, a phrase across a line end,
    # beside Chinese or Japanese letters (no spaces between words there).
    if (word := keywords.first_found(m.text, rule.keywords)) is not None:
        return f'keyword "{word}"'
    # The score is the model's confidence in its own label: a person's label needs none.
    sure = m.human_sentiment_label is not None or (m.sentiment_score or 0.0) >= rule.negative_min_score
    if _label(m) == "negative" and sure and (m.author_followers or 0) >= rule.negative_min_followers:
        return "negative with high reach"
    if rule.min_priority is not None and m.priority is not None and m.priority >= rule.min_priority:
        return f"priority {m.priority:.0f}"
    return None


def sla_at_risk(session: Session, brand_id: int, rule: SlaRule, now: datetime) -> dict[int, datetime]:
    """Unanswered mentions needing a response whose deadline is within ``warn_before_minutes``, with
    their deadlines.

    Ones already past the deadline are left out: the warning is for what can still be saved, and
    the dashboard queue shows the overdue ones.
    """
    response = timedelta(minutes=rule.response_minutes)
    rows = session.execute(
        select(Mention.id, Mention.created_at).where(
            Mention.brand_id == brand_id,
            AWAITING_RESPONSE,
            Mention.priority >= rule.min_priority if rule.min_priority > 0 else true(),
            Mention.created_at > now - response,
            Mention.created_at <= now - response + timedelta(minutes=rule.warn_before_minutes),
        ).order_by(Mention.id)
    )
    return {mention_id: created_at + response for mention_id, created_at in rows}


def in_quiet_hours(settings: AlertSettings, target: Target, now: datetime) -> bool:
    if settings.quiet_hours is None or target.settings.ignore_quiet_hours:
        return False
    return settings.quiet_hours.contains(now.astimezone(settings.zone).time())
