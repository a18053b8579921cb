"""Spike detection on a synthetic stream with known injected spikes, and chat escaping per format."""

from __future__ import annotations

from datetime import datetime, timezone

from bench.spikes import run
from monitor.alerts.format import WRITERS, Item, Style, render
from monitor.alerts.settings import Rules


def test_every_injected_spike_is_found_and_the_quiet_baseline_never_pages() -> None:
    results = run(days=16, seed=7, rules=Rules())
    spiky = [r for (name, _), r in results.items() if "spikes," in name]
    assert all(r.spikes > 0 and r.recall == 1.0 and r.precision == 1.0 for r in spiky)
    assert all(max(r.delays) <= 60 for r in spiky)  # found while the spike is still in the window
    quiet = [r for (name, _), r in results.items() if name.startswith("quiet")]
    assert [r.alerts for r in quiet] == [0, 0]


def _item(text: str, handle: str = "bob_[x]") -> Item:
    return Item(1, "x", handle, 10, text, "https://x.example/s/1)", "negative", 0.9, 90.0,
                datetime(2026, 3, 2, tzinfo=timezone.utc), 'keyword "refund"')


def test_untrusted_text_cannot_restyle_ping_or_link_in_markdown_and_html() -> None:
    hostile = "**refund** [win](https://evil.example) @everyone <b>hi</b> <@U123>\u2066"
    style = Style(WRITERS["markdown"], 280, 10, "https://desk.example/m/{id}")
    md = render("urgent", "Acme", [_item(hostile)], {}, style).body
    assert r"\*\*refund\*\*" in md and r"\[win\]\(https://evil\.example\)" in md
    assert "@everyone" not in md and "<@U123>" not in md and "\u2066" not in md
    assert "**@\u200bbob\\_\\[x\\]**" in md  # handle escaped too
    assert "[Original](https://x.example/s/1%29)" in md and "[Open in mentiondesk](https://desk.example/m/1)" in md
    html = render("urgent", "Acme", [_item(hostile)], {}, Style(WRITERS["html"], 280, 10, None)).body
    assert "<b>hi</b>" not in html and "&lt;b&gt;hi&lt;/b&gt;" in html and "@everyone" not in html
    assert '<a href="https://x.example/s/1%29">Original</a>' in html and "mentiondesk" not in html
    text = render("urgent", "Acme", [_item("x" * 500)], {}, Style(WRITERS["text"], 50, 10, None)).body
    assert max(len(line) for line in text.splitlines()) < 120


def test_a_grouped_message_lists_the_first_items_and_counts_the_rest() -> None:
    body = render("urgent", "Acme", [_item(f"post {i}") for i in range(13)], {}, Style(WRITERS["text"], 80, 10, None)).body
    assert body.count("post ") == 10 and body.endswith("…and 3 more in the dashboard.")
