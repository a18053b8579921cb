"""From a stored alert event to a chat message, rendered when it is sent (so a grouped event that
collected more mentions while it waited shows them all, and none answered, closed or relabelled not urgent
meanwhile)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, select, true
from sqlalchemy.orm import Session

from monitor.alerts.format import Item, Message, Style, render
from monitor.alerts.models import AlertEvent
from monitor.alerts.rules import NO_LONGER_URGENT, NOT_OURS_HERE, STILL_DUE, urgent_reason
from monitor.alerts.settings import AlertSettings
from monitor.models import Brand, Mention


def load_items(session: Session, ids: list[int], why: dict[str, str] | None = None,
               still: ColumnElement[bool] = true()) -> list[Item]:
    """The mentions with these ids that meet ``still``, in chat form."""
    return _in_chat_form(_mentions(session, ids, still), why or {})


def _mentions(session: Session, ids: list[int], still: ColumnElement[bool]) -> Sequence[Mention]:
    if not ids:
        return []
    return session.scalars(select(Mention).where(Mention.id.in_(ids), still)).all()


def _in_chat_form(mentions: Sequence[Mention], why: dict[str, str]) -> list[Item]:
    items = [
        Item(
            id=m.id, platform=m.platform, author_handle=m.author_handle, author_followers=m.author_followers,
            text=m.text, url=m.url, sentiment_label=m.human_sentiment_label or m.sentiment_label,
            # The model's score is its confidence in its own label, not in a person's.
            sentiment_score=m.sentiment_score if m.human_sentiment_label is None else None,
            sentiment_by_person=m.human_sentiment_label is not None,
            priority=m.priority, created_at=m.created_at, why=why.get(str(m.id)),
        )
        for m in mentions
    ]
    # Highest priority first, then oldest: the order someone should look at them in.
    return sorted(items, key=lambda i: (-(i.priority or 0.0), i.created_at, i.id))


def compose(session: Session, event: AlertEvent, settings: AlertSettings, style: Style) -> Message | str:
    """The event's message in the target's style, or why it is not sent: none of an item alert's mentions still due
    (see ``STILL_DUE``) and still filed under its brand of ours (see ``NOT_OURS_HERE``), or none of an urgent alert's
    still urgent."""
    brand = session.get(Brand, event.brand_id) if event.brand_id is not None else None
    still_due = STILL_DUE.get(event.rule)
    mentions = _mentions(session, list(event.mention_ids), true() if still_due is None else still_due.condition)
    if still_due is not None:
        if not mentions:
            return still_due.otherwise
        if brand is None or brand.competitor:
            return NOT_OURS_HERE
        mentions = [m for m in mentions if m.brand_id == event.brand_id]
        if not mentions:
            return NOT_OURS_HERE
    why: dict[str, str] = event.details.get("why") or {}
    if event.rule == "urgent":
        # A person's relabel (or a re-ranking) while it waited may have taken away what made a mention urgent:
        # it is checked again, and the alert gives today's reasons.
        rule = settings.rules_for(brand.key if brand else "").urgent
        why = {str(m.id): reason for m in mentions if (reason := urgent_reason(m, rule)) is not None}
        mentions = [m for m in mentions if str(m.id) in why]
        if not mentions:
            return NO_LONGER_URGENT
    return render(event.rule, brand.name if brand else "all brands", _in_chat_form(mentions, why), event.details, style)
