"""From a stored alert event to a chat message, rendered when it is sent (so a grouped event that
collected more mentions while it waited shows them all, and none answered or closed meanwhile)."""

from __future__ import annotations

from sqlalchemy import ColumnElement, select, true
from sqlalchemy.orm import Session

from monitor.alerts.format import WRITERS, Item, Message, Style, render
from monitor.alerts.models import AlertEvent
from monitor.alerts.rules import STILL_DUE
from monitor.alerts.settings import AlertSettings
from monitor.models import Brand, Mention


def load_items(session: Session, ids: list[int], why: dict[str, str] | None = None,
               still: ColumnElement[bool] = true()) -> list[Item]:
    """The mentions with these ids that meet ``still``, in chat form."""
    if not ids:
        return []
    rows = session.scalars(select(Mention).where(Mention.id.in_(ids), still)).all()
    why = why or {}
    items = [
        Item(
            id=m.id, platform=m.platform, author_handle=m.author_handle, author_followers=m.author_followers,
            text=m.text, url=m.url, sentiment_label=m.human_sentiment_label or m.sentiment_label,
            sentiment_score=m.sentiment_score, priority=m.priority, created_at=m.created_at, why=why.get(str(m.id)),
        )
        for m in rows
    ]
    # Highest priority first, then oldest: the order someone should look at them in.
    return sorted(items, key=lambda i: (-(i.priority or 0.0), i.created_at, i.id))


def compose(session: Session, event: AlertEvent, settings: AlertSettings, fmt: str) -> Message | None:
    """The event's message; None for an item alert none of whose mentions is still due (see ``STILL_DUE``)."""
    brand = session.get(Brand, event.brand_id) if event.brand_id is not None else None
    style = Style(WRITERS[fmt], settings.excerpt_chars, settings.max_items_per_message, settings.dashboard_item_url)
    still_due = STILL_DUE.get(event.rule)
    items = load_items(session, list(event.mention_ids), event.details.get("why"),
                       true() if still_due is None else still_due.condition)
    if still_due is not None and not items:
        return None
    return render(event.rule, brand.name if brand else "all brands", items, event.details, style)
