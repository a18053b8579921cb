"""How a mention looks in the queue and in its detail view (all untrusted parts escaped)."""

from __future__ import annotations

import html
from datetime import datetime

from monitor.models import Mention
from monitor.queue import ACTIVE_STATUSES
from monitor.sla import SlaPolicy, SlaState, SlaStatus, status
from dashboard.safe import isolate, plain, text_box

_SLA_COLOURS = {SlaState.OVERDUE: "#c62828", SlaState.AT_RISK: "#ef6c00"}


def _ago(when: datetime, now: datetime) -> str:
    seconds = int((now - when).total_seconds())
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return "just now"  # a post dated a little ahead too: ingest keeps dates up to a day ahead (clocks drift)


def _duration(seconds: float) -> str:
    minutes = int(abs(seconds) // 60)
    return f"{minutes // 60}h {minutes % 60:02d}m" if minutes >= 60 else f"{minutes}m"


def _badge(kind: str, label: str, colour: str | None = None) -> str:
    """``label`` is plain text (it can hold a tier name from the config), escaped here."""
    style = f"background:{colour};color:white;" if colour else "background:#eee;"
    return (f'<span class="md-sla md-sla-{kind}" style="{style}border-radius:4px;padding:0 0.4em">'
            f"{html.escape(label)}</span>")


def sla_badge(sla: SlaStatus) -> str:
    label = f"SLA {sla.tier.name}: {sla.state.value}"
    if sla.state in (SlaState.ON_TRACK, SlaState.AT_RISK):
        label += f", {_duration(sla.remaining.total_seconds())} left"
    elif sla.state is SlaState.OVERDUE:
        label += f" by {_duration(sla.remaining.total_seconds())}"
    return _badge(sla.state.name.lower(), label, _SLA_COLOURS.get(sla.state))


def mention_sla_badge(m: Mention, policy: SlaPolicy, now: datetime) -> str:
    """The mention's SLA badge; one closed without a reply is no work waiting (the Breaching SLA view
    and analytics leave it out), so it gets a neutral badge, not an ever-growing red "overdue"."""
    if m.first_response_at is None and m.status not in ACTIVE_STATUSES:
        return _badge("closed", "SLA: closed, no reply")
    return sla_badge(status(policy, m, now))


def labels(m: Mention) -> str:
    parts = []
    if m.human_sentiment_label:
        parts.append(f"sentiment {m.human_sentiment_label} (human)")
    elif m.sentiment_label:
        parts.append(f"sentiment {m.sentiment_label} {m.sentiment_score or 0:.0%}")
    if m.human_intent:
        parts.append(f"intent {m.human_intent} (human)")
    elif m.intent:
        parts.append(f"intent {m.intent}")
    if m.priority is not None:
        parts.append(f"priority {m.priority:.0f}")
    return " · ".join(parts) or "not classified yet"


def header(m: Mention, now: datetime) -> str:
    """Who posted where and when. Each untrusted field is a bidi isolate: a U+202E in a name would
    otherwise reverse the rest of the line (reach, age, language)."""
    reach = f"{m.author_followers:,} followers" if m.author_followers is not None else "reach unknown"
    name = isolate(plain(m.author_name)) if m.author_name else None
    if m.author_handle:
        who = f"@{isolate(plain(m.author_handle))}" + (f" ({name})" if name else "")
    else:  # read without its author, or by a deleted account: never a bare "@"
        who = name or "unknown author"
    return (f"<b>{isolate(plain(m.platform))}</b> · {who} · {reach} · "
            f'<span title="{m.created_at:%Y-%m-%d %H:%M} UTC">{_ago(m.created_at, now)}</span> · '
            f"{isolate(plain(m.lang)) if m.lang else 'lang ?'}")


def card(m: Mention, policy: SlaPolicy, now: datetime, max_chars: int | None = 600, text_class: str = "md-text") -> str:
    """One mention: who, reach, when, language, labels, status, SLA, and the text as plain text."""
    text = m.text if max_chars is None or len(m.text) <= max_chars else m.text[:max_chars] + "…"
    tags = "".join(f' <span style="background:#e3f2fd;border-radius:4px;padding:0 0.3em">#{isolate(plain(t.tag))}'
                   "</span>" for t in m.tags)
    owner = f"assigned to {isolate(plain(m.assignee))}" if m.assignee else "unassigned"
    return (f'<div class="md-mention" data-mention-id="{m.id}">'
            f"<div>{header(m, now)}</div>"
            f"<div>{labels(m)} · <b>{plain(m.status)}</b> · {owner} · {mention_sla_badge(m, policy, now)}{tags}</div>"
            f"{text_box(text, text_class)}</div>")
