"""Chat messages for alerts. Mention text and author handles are untrusted: every piece of them is
cleaned (control and bidi characters removed, whitespace collapsed, truncated), stripped of pings
(``@channel``, ``@here``, ``@everyone``, ``<!channel>``, user pings) and escaped for the target's
format, so a post cannot restyle the message, forge a link or page the whole channel.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import quote

# C0/C1 controls, zero-width and bidi formatting characters: they hide or reorder what a reader sees.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|>~<&])")
_ZWSP = "\u200b"  # after "@" it keeps the text readable but stops every chat service from pinging


@dataclass(frozen=True)
class Message:
    title: str
    body: str


@dataclass(frozen=True)
class Item:
    """A mention as shown in chat."""

    id: int
    platform: str
    author_handle: str | None
    author_followers: int | None
    text: str
    url: str | None
    sentiment_label: str | None
    sentiment_score: float | None
    priority: float | None
    created_at: datetime
    why: str | None = None
    sentiment_by_person: bool = False  # a person's relabel: shown as such, without a model score


def clean(text: str, limit: int) -> str:
    """One line of untrusted text, safe characters only, at most ``limit`` characters."""
    text = unicodedata.normalize("NFC", _UNSAFE.sub(" ", text))
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text.replace("@", "@" + _ZWSP).replace("<!", "<" + _ZWSP + "!")


def safe_link(url: str | None) -> str | None:
    if not url or not re.match(r"^https?://[^\s<>\"']+$", url):
        return None
    # Percent-encoded, a bidi override or zero-width character cannot disguise where the link goes.
    url = _UNSAFE.sub(lambda m: quote(m.group()), url)
    return url.replace("(", "%28").replace(")", "%29")


class Writer(Protocol):
    def esc(self, text: str) -> str: ...
    def bold(self, escaped: str) -> str: ...
    def quote(self, escaped: str) -> str: ...
    def link(self, label: str, url: str) -> str: ...
    def lines(self, lines: Sequence[str]) -> str: ...


class TextWriter:
    def esc(self, text: str) -> str:
        return text

    def bold(self, escaped: str) -> str:
        return escaped

    def quote(self, escaped: str) -> str:
        return f'"{escaped}"'

    def link(self, label: str, url: str) -> str:
        return f"{label}: {url}"

    def lines(self, lines: Sequence[str]) -> str:
        return "\n".join(lines)


class MarkdownWriter:
    def esc(self, text: str) -> str:
        return _MARKDOWN_SPECIAL.sub(r"\\\1", text)

    def bold(self, escaped: str) -> str:
        return f"**{escaped}**"

    def quote(self, escaped: str) -> str:
        return f"> {escaped}"

    def link(self, label: str, url: str) -> str:
        return f"[{self.esc(label)}]({url})"

    def lines(self, lines: Sequence[str]) -> str:
        return "\n".join(lines)


class HtmlWriter:
    def esc(self, text: str) -> str:
        return html.escape(text, quote=True)

    def bold(self, escaped: str) -> str:
        return f"<b>{escaped}</b>"

    def quote(self, escaped: str) -> str:
        return f"<i>{escaped}</i>"

    def link(self, label: str, url: str) -> str:
        return f'<a href="{html.escape(url, quote=True)}">{html.escape(label)}</a>'

    def lines(self, lines: Sequence[str]) -> str:
        return "<br/>\n".join(lines)


WRITERS: dict[str, Writer] = {"text": TextWriter(), "markdown": MarkdownWriter(), "html": HtmlWriter()}


@dataclass(frozen=True)
class Style:
    writer: Writer
    excerpt_chars: int
    max_items: int
    dashboard_item_url: str | None


def _item_lines(item: Item, style: Style) -> list[str]:
    w = style.writer
    author = "@" + item.author_handle if item.author_handle else "someone"
    head = w.bold(w.esc(clean(author, 80)))
    if item.author_followers is not None:
        head += w.esc(f" ({item.author_followers:,} followers)")
    facts = [f"on {item.platform}"]
    if item.sentiment_label:
        if item.sentiment_by_person:
            facts.append(f"{item.sentiment_label} (human)")
        else:
            score = f" {item.sentiment_score:.2f}" if item.sentiment_score is not None else ""
            facts.append(f"{item.sentiment_label}{score}")
    if item.priority is not None:
        facts.append(f"priority {item.priority:.0f}")
    if item.why:
        facts.append(item.why)
    head += " " + w.esc(" · ".join(facts))
    links = []
    if (original := safe_link(item.url)) is not None:
        links.append(w.link("Original", original))
    if style.dashboard_item_url and (dash := safe_link(style.dashboard_item_url.replace("{id}", str(item.id)))):
        links.append(w.link("Open in mentiondesk", dash))
    out = [head, w.quote(w.esc(clean(item.text, style.excerpt_chars)))]
    if links:
        out.append(" · ".join(links))
    return out


def _items_body(items: Sequence[Item], style: Style) -> list[str]:
    lines: list[str] = []
    for item in items[: style.max_items]:
        if lines:
            lines.append("")
        lines.extend(_item_lines(item, style))
    if len(items) > style.max_items:
        lines += ["", style.writer.esc(f"…and {len(items) - style.max_items} more in the dashboard.")]
    return lines


def render(rule: str, brand: str, items: Sequence[Item], details: dict[str, Any], style: Style) -> Message:
    w = style.writer
    brand = clean(brand, 100)
    if rule == "urgent":
        title = f"Urgent mention of {brand}" if len(items) == 1 else f"Urgent: {len(items)} mentions of {brand}"
        return Message(title, w.lines(_items_body(items, style)))
    if rule == "sla":
        title = f"Response due soon: {len(items)} mention{'s' if len(items) != 1 else ''} of {brand}"
        intro = w.esc(f"Unanswered, and the {details['response_minutes']:g}-minute response target is close:")
        return Message(title, w.lines([intro, "", *_items_body(items, style)]))
    if rule in ("negative_spike", "volume_spike"):
        what = "negative mentions" if rule == "negative_spike" else "mentions"
        kind = "Negative spike" if rule == "negative_spike" else "Volume spike"
        title = f"{kind} for {brand}: {details['current']} {what} in {details['window_minutes']} min"
        body = [w.esc(
            f"{details['current']} {what} in the last {details['window_minutes']} minutes; usually "
            f"{details['baseline_mean']:.1f} at this time of day (past {details['baseline_days']} days)."
        )]
        if items:
            body += ["", w.esc("Most pressing:"), *_items_body(items, style)]
        return Message(title, w.lines(body))
    if rule == "digest":
        title = f"Daily digest for {brand}, {details['day']}"
        body = [w.esc(
            f"Last 24 h: {details['total']} mentions, {details['negative']} negative, "
            f"{details['unanswered']} waiting for a response. Alerts: {details['alerts_sent']} sent, "
            f"{details['alerts_suppressed']} suppressed, {details['alerts_failed']} failed."
        )]
        if items:
            body += ["", w.esc("Top items:"), *_items_body(items, style)]
        return Message(title, w.lines(body))
    if rule == "incident":
        languages = details.get("languages", {})
        title = (f"Incident for {brand}: {details['count']} related complaints in "
                 f"{len(languages)} language{'s' if len(languages) != 1 else ''}")
        body = [w.esc(f"{details['count']} mentions from authors with {details['reach']:,} followers in all, "
                      f"since {details['first_seen']}. Languages: "
                      + ", ".join(f"{clean(str(lang), 10)} {n}" for lang, n in languages.items()) + "."),
                w.esc("Top terms: " + ", ".join(clean(str(t), 40) for t in details.get("terms", [])))]
        if items:
            body += ["", w.esc("Typical mentions:"), *_items_body(items, style)]
        return Message(title, w.lines(body))
    raise ValueError(f"unknown alert rule {rule!r}")
