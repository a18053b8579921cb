"""Chat messages for alerts. Mention text and author handles are untrusted: every piece of them is
cleaned (control, format and blank filler characters removed, whitespace collapsed, truncated), stripped of pings
(``@channel``, ``@here``, ``@everyone``, ``<!channel>``, user pings; a link keeps none either, see ``safe_link``)
and escaped for the target's format, so a post cannot restyle the message, forge a link or page the whole channel.
A message is made to fit the target's length limit by listing fewer items, so one message arrives with the most
pressing ones.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Protocol

from monitor.text import most_common_first

# Hangul fillers are letters by category, yet show nothing (a blank handle, a gap inside a word).
_BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0")
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|>~<&])")
_SHORTEST_EXCERPT = 20  # the least excerpt_chars allows
_ZWSP = "\u200b"  # after "@" it keeps the text readable but stops every chat service from pinging
_AT_PING = re.compile(r"(@&?)([^\W_])")  # "@everyone", "@123…" (a user), "@&123…" (a role)


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


def _hidden(char: str) -> bool:
    """A control or format character (zero-width, bidi mark or override, soft hyphen, tag characters) or a blank
    filler letter: each hides or reorders what a reader sees."""
    return unicodedata.category(char) in ("Cc", "Cf") or char in _BLANK_LETTERS


def clean(text: str, limit: int) -> str:
    """One line of untrusted text, visible characters only, at most ``limit`` characters."""
    # A control (a line break, a tab) separates words; an invisible character is simply taken out.
    text = "".join(" " if unicodedata.category(c) == "Cc" else "" if _hidden(c) else c for c in text)
    text = " ".join(unicodedata.normalize("NFC", text).split())
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text.replace("@", "@" + _ZWSP).replace("<!", "<" + _ZWSP + "!")


def _percent_encoded(char: str) -> str:
    return "".join(f"%{byte:02X}" for byte in char.encode())


def safe_link(url: str | None) -> str | None:
    """An http(s) link as chat may show it, or None. No ``<`` gets through, so no ``<@id>`` or ``<!here>``."""
    if not url or not re.match(r"^https?://[^\s<>\"']+$", url):
        return None
    # Percent-encoded, a bidi mark or an invisible character cannot disguise where the link goes.
    url = "".join(_percent_encoded(c) if _hidden(c) else c for c in url)
    # A Mastodon link holds "@username" (a remote server names it): the letter or digit after an "@" (or "@&", a
    # Discord role) percent-encoded, no chat service finds a ping in it, and the link is the same (RFC 3986, 6.2.2.2).
    url = _AT_PING.sub(lambda at: at[1] + _percent_encoded(at[2]), url)
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
    # Where the service shows the title in the message text (no title field of its own), apprise puts it there
    # as it is, so it is escaped like the body.
    title_in_body: bool = False
    # Whether the target takes a message this long (None: any length); see ``render``.
    fits: Callable[[Message], bool] | None = None


def _item_lines(item: Item, style: Style) -> list[str]:
    w = style.writer
    author = "@" + item.author_handle if item.author_handle else "someone"
    head = w.bold(w.esc(clean(author, 80)))
    if item.author_followers is not None:
        head += w.esc(f" ({item.author_followers:,} followers)")
    facts = [f"on {clean(item.platform, 50)}"]  # stored from a plugin or an import: untrusted too
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
        more = f"…and {len(items) - style.max_items} more" if style.max_items else str(len(items))
        lines += ["", style.writer.esc(f"{more} in the dashboard.")]
    return lines


def _smaller(style: Style, count: int) -> Iterator[Style]:
    """The style, then ones for ever shorter messages: fewer items listed (the last ones go first, the most
    pressing stay), a shorter excerpt for the one item left, and at last none listed, only counted."""
    for shown in range(min(count, style.max_items), 0, -1):
        yield replace(style, max_items=shown)
    excerpt = style.excerpt_chars // 2
    while count and excerpt >= _SHORTEST_EXCERPT:
        yield replace(style, max_items=1, excerpt_chars=excerpt)
        excerpt //= 2
    yield replace(style, max_items=0)


def render(rule: str, brand: str, items: Sequence[Item], details: dict[str, Any], style: Style) -> Message:
    """The alert's message, as long as ``style.fits`` lets it be: a chat service refuses a longer one outright
    (Discord over 2,000 characters), and split into several posts a message could be cut inside its markup."""
    for smaller in _smaller(style, len(items)):
        message = _render(rule, brand, items, details, smaller)
        if style.fits is None or style.fits(message):
            return message
    return message  # even the shortest is too long for the service (a text message): delivery cuts it


def _render(rule: str, brand: str, items: Sequence[Item], details: dict[str, Any], style: Style) -> Message:
    message = _render_plain_title(rule, brand, items, details, style)
    return replace(message, title=style.writer.esc(message.title)) if style.title_in_body else message


def _render_plain_title(rule: str, brand: str, items: Sequence[Item], details: dict[str, Any],
                        style: Style) -> Message:
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
        languages = most_common_first(details.get("languages", {}))
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
