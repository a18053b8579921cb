"""Hostile content end to end: ~300 nasty strings (tests/hostile_corpus.py) as mention text, author
names, handles and URLs go through ingest → dashboard → chat alert → export, and come out inert."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from html.parser import HTMLParser
from pathlib import Path

import pytest
from sqlalchemy import select, update

from connectors.base import FetchResult
from monitor import analytics
from monitor.access import local_operator
from monitor.alerts.compose import load_items
from monitor.alerts.format import WRITERS, Style, render
from monitor.config import Config
from monitor.ingest import ingest_page, sync_brands
from monitor.models import Mention
from monitor.queue import QueueFilters
from monitor.storage import Database
from monitor.text import formula_like, safe_url, terminal_safe
from monitor.transfer import import_mentions, iter_export, write_export
from tests.connector_doubles import mention
from tests.hostile_corpus import corpus, unescaped

CORPUS = corpus()
# What a terminal, chat message or reader could be tricked by: controls, bidi overrides, invisible marks.
UNSAFE_CHARS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")
CARD_CHARS = 280  # the queue list's excerpt length (dashboard/pages/queue.py)


def test_the_corpus_is_big_and_covers_every_kind() -> None:
    assert len(CORPUS) >= 200
    joined = "\n".join(CORPUS)
    for needle in ("<script", "javascript:", "data:", "](", "=HYPERLINK", "\u202e", "\u200b", "\x1b", "\x00",
                   "@here", "<!channel>", "\udcff"):
        assert needle in joined, needle
    assert max(map(len, CORPUS)) >= 10_000


@dataclass
class Stored:
    db: Database
    config_path: Path
    ids: list[int]


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stored]:
    """Every corpus string ingested as a mention's text, and (shifted) as author name, handle and URL."""
    home = tmp_path_factory.mktemp("hostile")
    config_path = home / "mentiondesk.toml"
    config_path.write_text(f'[database]\nurl = "sqlite:///{home / "h.db"}"\n[[brands]]\nname = "Acme"\n'
                           'keywords = ["acme"]\n[connectors.sample]\n[dashboard]\npage_size = 200\n', encoding="utf-8")
    config = Config.load(config_path, env={})
    db = Database.open(config.database_url)
    db.upgrade()
    query_id = sync_brands(db, config.brands, {"sample": config.queries_for("sample")})[("sample", "acme")]
    n = len(CORPUS)
    fetched = [mention("sample", i, text=text, author_name=CORPUS[(i + 1) % n], author_handle=CORPUS[(i + 2) % n],
                       url=CORPUS[(i + 3) % n], raw={"text": text}) for i, text in enumerate(CORPUS)]
    result = ingest_page(db, connector="sample", query_id=query_id, result=FetchResult(fetched, next_cursor=None))
    with db.write() as session:  # ranked in corpus order, so the dashboard's pages are predictable
        for i, mention_id in enumerate(result.new_ids):
            session.execute(update(Mention).where(Mention.id == mention_id).values(priority=100.0 - i * 0.01))
    yield Stored(db, config_path, result.new_ids)
    db.dispose()


def _mentions(db: Database) -> list[Mention]:
    with db.read() as session:
        return list(session.scalars(select(Mention).order_by(Mention.id)))


def test_ingest_keeps_every_string_and_only_web_links(stored: Stored) -> None:
    rows = _mentions(stored.db)
    assert len(rows) == len(CORPUS)
    for row, original in zip(rows, CORPUS):
        # NUL is dropped (PostgreSQL refuses it); a lone surrogate (invalid UTF-8) becomes U+FFFD; nothing else changes.
        assert row.text == re.sub("[\ud800-\udfff]", "\ufffd", original.replace("\x00", ""))
        assert row.url is None or (row.url == safe_url(row.url) and row.url.lower().startswith(("http://", "https://")))
    assert {r.url for r in rows} >= {"https://example.com/\u202eexe.txt"}
    assert not any(r.url and "javascript" in r.url.lower().split("//")[0] for r in rows)


class _HtmlScan(HTMLParser):
    """Tags and attributes in the dashboard's HTML, and the text inside each mention text box."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: set[str] = set()
        self.attributes: list[tuple[str, str]] = []
        self.boxes: list[str] = []
        self._box: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attributes += [(name, value or "") for name, value in attrs]
        if tag == "div" and dict(attrs).get("class") in ("md-text", "md-detail-text"):
            self._box = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "div" and self._box is not None:
            self.boxes.append("".join(self._box))
            self._box = None

    def handle_data(self, data: str) -> None:
        if self._box is not None:
            self._box.append(data)


def _scan(at: object) -> _HtmlScan:
    scan = _HtmlScan()
    for element in at.get("html"):  # type: ignore[attr-defined]
        scan.feed(element.proto.body)
    scan.close()
    return scan


def _assert_inert(scan: _HtmlScan) -> None:
    assert scan.tags <= {"div", "span", "b"}, scan.tags
    assert {name for name, _ in scan.attributes} <= {"class", "style", "dir", "title", "data-mention-id"}
    for name, value in scan.attributes:
        assert not re.search(r"javascript|expression\(|url\(|<|>", value, re.I), (name, value)


def _excerpt(text: str, limit: int | None) -> str:
    return text if limit is None or len(text) <= limit else text[:limit] + "…"


def test_the_dashboard_shows_every_string_as_text(stored: Stored, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.test_dashboard_fixtures import signed_in_app

    monkeypatch.setenv("MENTIONDESK_CONFIG", str(stored.config_path))
    rows = _mentions(stored.db)
    at = signed_in_app(stored.db, "ana")
    shown: list[str] = []
    for page in range(2):
        assert not at.exception, at.exception
        scan = _scan(at)
        _assert_inert(scan)
        shown += scan.boxes
        if page == 0:
            at.button(key="page-next").click().run()
    assert shown == [_excerpt(r.text, CARD_CHARS) for r in rows]  # every text, in order, exactly as text

    # Open a few in full: links only for http(s) URLs, and the whole text still as text.
    for row in [r for r in rows if r.url][:4] + [r for r in rows if len(r.text) > 5_000][:2]:
        at.session_state["open-id"] = row.id
        at.run()
        assert not at.exception, at.exception
        scan = _scan(at)
        _assert_inert(scan)
        assert row.text in scan.boxes
        for link in at.get("link_button"):
            assert safe_url(link.proto.url) == link.proto.url and link.proto.url.startswith(("http://", "https://"))
    for element in (*at.markdown, *at.caption):
        assert "<script" not in element.value and "javascript:" not in element.value


class _ChatHtml(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


@pytest.mark.parametrize("fmt", sorted(WRITERS))
def test_chat_alerts_carry_no_markup_pings_or_hidden_characters(stored: Stored, fmt: str) -> None:
    with stored.db.read() as session:
        items = load_items(session, stored.ids)
    style = Style(WRITERS[fmt], excerpt_chars=280, max_items=len(items), dashboard_item_url="http://127.0.0.1:8501/?mention={id}")
    message = render("urgent", "Acme <b>", items, {}, style)
    body = message.body
    visible = re.sub(r"(@|<|&lt;|\\<)\u200b", r"\1", body)  # after @ or <, a zero-width space is our ping breaker
    assert not UNSAFE_CHARS.search(visible.replace("\n", ""))
    assert not re.search(r"@(here|channel|everyone)\b", body) and "<!" not in body
    if fmt == "html":
        parser = _ChatHtml()
        parser.feed(body)
        assert {tag for tag, _ in parser.tags} <= {"b", "i", "a", "br"}
        for tag, attrs in parser.tags:
            assert set(attrs) <= ({"href"} if tag == "a" else set())
            if tag == "a":
                assert safe_url(attrs["href"]) == attrs["href"]
    if fmt == "markdown":
        excerpts = [line[2:] for line in body.splitlines() if line.startswith("> ")]
        assert len(excerpts) == len(items)
        assert all(unescaped(e, "[]()<>*_`#|~!") == [] for e in excerpts)
        for target in re.findall(r"\]\(([^)]*)\)", body):
            assert target.startswith(("http://", "https://")), target


def test_exports_defuse_formulas_and_lose_nothing(stored: Stored, tmp_path: Path) -> None:
    rows = _mentions(stored.db)
    csv_out = io.StringIO()
    assert write_export(iter_export(stored.db), csv_out, "csv") == len(rows)
    with stored.db.read() as session:
        dashboard_csv = io.StringIO()
        analytics.export_mentions(session, QueueFilters(statuses=("new",)), dashboard_csv)
    for text in (csv_out.getvalue(), dashboard_csv.getvalue()):
        cells = [cell for record in csv.reader(io.StringIO(text)) for cell in record]
        risky = [cell for cell in cells if formula_like(cell)]
        assert risky == [], risky[:3]

    jsonl_out = io.StringIO()
    write_export(iter_export(stored.db), jsonl_out, "jsonl")
    assert all(json.loads(line) for line in jsonl_out.getvalue().split("\n") if line)  # one record a line
    for fmt, data in (("csv", csv_out.getvalue()), ("jsonl", jsonl_out.getvalue())):
        target = Database.open(f"sqlite:///{tmp_path / f'{fmt}.db'}")
        target.upgrade()
        sync_brands(target, Config.load(stored.config_path, env={}).brands, {})
        result = import_mentions(target, io.StringIO(data), fmt, local_operator())  # type: ignore[arg-type]
        assert (result.stored, result.errors[:2]) == (len(rows), [])
        assert [(m.text, m.author_name, m.author_handle, m.url) for m in _mentions(target)] == \
            [(m.text, m.author_name, m.author_handle, m.url) for m in rows]
        target.dispose()


def test_terminal_output_shows_controls_as_escapes() -> None:
    for text in CORPUS:
        shown = terminal_safe(text, limit=200)
        assert not re.search("[\x00-\x08\x0a-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]", shown), repr(shown)  # tab stays
        assert len(shown) <= 200


def test_a_stored_post_dated_9999_or_year_1_does_not_stop_the_queue(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Ingest now dates such posts when fetched; rows stored before that made the SLA deadline overflow,
    and the queue page (a card for every row) raised for everyone."""
    from dashboard.cards import card
    from monitor.models import utcnow
    from monitor.sla import BusinessHours, SlaPolicy
    from tests.test_dashboard_fixtures import add_mention, dashboard_db, signed_in_app

    # Business hours in a zone behind UTC: converting 9999-12-31 23:00 UTC to it and back overflowed too.
    db = dashboard_db(tmp_path, monkeypatch, '[sla.business_hours]\ntimezone = "Pacific/Honolulu"\n')
    far = add_mention(db, created_at=datetime(9999, 12, 31, 23, tzinfo=timezone.utc), text="from the far future",
                      priority=90.0)
    first = add_mention(db, created_at=datetime(1, 1, 1, tzinfo=timezone.utc), text="from the year one")
    with db.read() as session:
        rows = [session.get(Mention, i) for i in (far, first)]
    for policy in (SlaPolicy(), SlaPolicy(business_hours=BusinessHours("Pacific/Honolulu"))):
        badges = [card(m, policy, utcnow()) for m in rows]  # the reported crash: OverflowError here
        assert "md-sla-on_track" in badges[0] and "md-sla-overdue" in badges[1]

    at = signed_in_app(db, "ana")
    assert not at.exception, at.exception
    page = "\n".join(h.proto.body for h in at.get("html"))
    assert "from the far future" in page and "from the year one" in page
    at.button(key=f"open-{far}").click().run()
    assert not at.exception, at.exception
    db.dispose()
