"""Untrusted text where Streamlit reads Markdown (captions, alerts, expander and button labels) shows as
typed: no image loaded from a stranger's server, no link, no colour, icon or formula; and a name's
direction controls cannot reverse the rest of its line."""

from __future__ import annotations

import html
import re
import string
from datetime import timedelta
from pathlib import Path

import pytest
from markdown_it import MarkdownIt  # a CommonMark renderer to check against

pytest.importorskip("streamlit", reason="the dashboard needs streamlit: pip install 'mentiondesk[dashboard]'")
from streamlit.testing.v1 import AppTest  # noqa: E402

from dashboard.cards import header  # noqa: E402
from dashboard.safe import md_escape  # noqa: E402
from monitor import followups, incidents, presence, triage  # noqa: E402
from monitor.access import Principal, Role  # noqa: E402
from monitor.models import Incident, IncidentMention, Mention, utcnow  # noqa: E402
from monitor.presence import Activity  # noqa: E402
from monitor.replies import approve_reply, draft_reply  # noqa: E402
from tests.hostile_corpus import corpus, unescaped  # noqa: E402
from tests.principals import ANA  # noqa: E402
from tests.test_dashboard_fixtures import add_brand, add_mention, dashboard_db, signed_in_app  # noqa: E402

# Each would load an image from, or link to, e.co if it were read as Markdown.
NAME = "![n](//e.co/name.png) **Eve** :red[admin]"
APPROVER = "[approved](https://e.co/approver)"
TAG = "![t](https://e.co/tag.png)"
TYPED_TAG = "**vip** <img src=//e.co/typed>"
LANG = "![](//e.co/p)"  # 13 characters: it fitted the 16 of Mention.lang before ingest checked for a language tag
STREAMLIT_EXTRAS = [
    ":red[alert] :blue-background[x] :rainbow[hi] :orange-badge[b]", ":material/warning: :material_home:",
    ":streamlit: :smile: :+1:", "$x^2$ and $$\\int f$$ and \\$5", "a -> b <- c <-> d -- e >= f <= g ~= h",
    "www.e.co https://e.co/x mail@e.co", "| a | b |\n|---|---|\n| c | d |", "# title\n\n    code\n- item\n1. one",
    "trailing backslash \\", "&lt;b&gt; &amp; &#x41;", "~~struck~~ __under__ `code` <b>bold</b>",
]
_WORD_JOINER = "\u2060"
_ASCII_PUNCTUATION = "[" + re.escape(string.punctuation) + "]"


def _unescape(markdown: str) -> str:
    """What CommonMark shows for backslash escapes: the character itself."""
    return re.sub(r"\\(" + _ASCII_PUNCTUATION + ")", r"\1", markdown)


def _as_typed(text: str) -> str:
    """``text`` as a one-line label shows it: whitespace runs as one space (as HTML shows them anyway)."""
    return re.sub(r"[ \t\r\n\f\v]+", " ", text).strip(" ")


def test_escaped_text_renders_as_itself_in_commonmark() -> None:
    renderer = MarkdownIt("commonmark").enable(["table", "strikethrough"])
    bidi_marks = re.compile("[\u2060\u2066-\u2069]")  # the word joiners and isolates md_escape adds
    for number, text in enumerate(corpus() + STREAMLIT_EXTRAS):
        rendered = renderer.render(md_escape(text))
        if not _as_typed(text):
            assert rendered == "", number
            continue
        paragraph = re.fullmatch(r"<p>(.*)</p>\n", rendered, re.S)
        assert paragraph and "<" not in paragraph[1], (number, rendered[:300])  # one paragraph of text, no element
        shown = bidi_marks.sub("", html.unescape(paragraph[1]))
        assert shown == bidi_marks.sub("", _as_typed(text).replace("\x00", "\ufffd")), (number, text[:300])


@pytest.mark.parametrize("text", STREAMLIT_EXTRAS + [NAME, LANG, TAG])
def test_escaped_text_has_nothing_streamlit_reads_as_colour_icon_formula_or_arrow(text: str) -> None:
    escaped = md_escape(text)
    # Colour directives (`:red[…]`), LaTeX (`$…$`), emoji shortcodes and links all need an unescaped character.
    assert unescaped(escaped, string.punctuation) == []
    # Streamlit rewrites `:material/` in the source, then swaps icons and arrows in the parsed text.
    assert ":material/" not in escaped
    parsed = _unescape(escaped)
    assert not re.search(r":material_\w+:|:streamlit:", parsed)
    assert not re.search(r"(^|\s)(<->|->|<-|--|>=|<=|~=)(\s|$)", parsed)
    assert parsed.replace(_WORD_JOINER, "") == _as_typed(text)


def _bidi_stack(text: str) -> list[str]:
    """The explicit direction embeddings and isolates still open at the end of ``text`` (Unicode bidi rules)."""
    stack: list[str] = []
    for char in text:
        if char in "\u2066\u2067\u2068":
            stack.append("isolate")
        elif char in "\u202a\u202b\u202d\u202e":
            stack.append("embedding")
        elif char == "\u2069" and "isolate" in stack:  # closes the last isolate and everything opened inside it
            while stack.pop() != "isolate":
                pass
        elif char == "\u202c" and stack and stack[-1] == "embedding":
            stack.pop()
    return stack


def test_a_name_with_direction_controls_cannot_reverse_the_rest_of_the_card_header() -> None:
    now = utcnow()
    # U+202E reverses what follows; a stray U+2069 would close the isolate around the name early.
    m = Mention(id=1, platform="sample", author_handle="\u202eevil", author_name="Eve\u2069\u202e\u2067",
                author_followers=100, lang="en\u202e", created_at=now - timedelta(minutes=5), text="hi", status="new")
    line = header(m, now)
    assert "\u202eevil" in line and "Eve" in line  # shown, not removed
    for after in (" followers", " ago", "</span>"):
        assert _bidi_stack(line[: line.index(after)]) == [], after
    assert _bidi_stack(line) == []
    assert _bidi_stack(md_escape("Eve\u2069\u202e\u2067") + " is viewing this") == []


def _markdown_strings(at: AppTest) -> list[str]:
    """Every string on the page that Streamlit renders as Markdown."""
    return ([e.value for e in (*at.markdown, *at.caption, *at.success, *at.warning, *at.error, *at.info)]
            + [e.label for e in at.expander] + [b.label for b in at.button])


def _assert_no_live_hostile_markdown(at: AppTest) -> None:
    assert not at.exception, at.exception
    for value in _markdown_strings(at):
        live = re.sub(r"\\.", "", value, flags=re.S)  # what is left once every escaped character is taken out
        # Escaped, the host reads `\/\/e\.co`: never a URL Markdown could load or link, nor a tag or a colour.
        assert not re.search(r"e\.co|\]\(|<|:red\[", live), value


def test_tags_names_and_labels_on_the_queue_and_sla_pages_show_as_typed(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    db = dashboard_db(tmp_path, monkeypatch,
                      '[[sla.tiers]]\nname = "![tier](//e.co/tier)"\nmin_priority = 0\ntarget_minutes = 60\n',
                      brand_settings="reply_approval = true\n")
    m = add_mention(db, brand_id=add_brand(db, "Acme"), lang=LANG)  # a row stored before ingest checked lang
    triage.add_tag(db, [m], TAG, ANA)
    triage.add_note(db, m, "called them back", Principal(NAME, Role.AGENT))
    presence.touch(db, m, NAME, Activity.VIEWING)
    draft = draft_reply(db, m, "We are on it", Principal(NAME, Role.AGENT))
    approve_reply(db, draft.id, Principal(APPROVER, Role.ADMIN))

    at = signed_in_app(db, "ana", Role.AGENT)
    at.button(key=f"open-{m}").click().run()
    _assert_no_live_hostile_markdown(at)
    assert at.button(key=f"untag-{m}-{TAG.lower()}").label == f"remove #{md_escape(TAG.lower())}"
    assert f"{md_escape(NAME)} is viewing this" in [w.value for w in at.warning]
    captions = [c.value for c in at.caption]
    assert any(c.startswith(f"{md_escape(NAME)} · ") for c in captions), captions  # the note's author
    assert f"Draft by {md_escape(NAME)} · approved by {md_escape(APPROVER)}" in captions

    at.text_input(key=f"tag-{m}").input(TYPED_TAG).run()
    at.button(key=f"add-tag-{m}").click().run()
    _assert_no_live_hostile_markdown(at)
    assert [s.value for s in at.success] == [f"tagged {md_escape(TYPED_TAG)}: 1 mention(s)"]
    at.button(key=f"untag-{m}-{TAG.lower()}").click().run()
    _assert_no_live_hostile_markdown(at)
    assert [s.value for s in at.success] == [f"untagged {md_escape(TAG.lower())}: 1 mention(s)"]

    at.switch_page("pages/sla.py").run()
    _assert_no_live_hostile_markdown(at)
    assert at.caption[0].value.startswith(f"Targets: {md_escape('![tier](//e.co/tier)')} (priority ≥ 0) 60 min")
    db.dispose()


def _incident(db: object, brand: int, mention_ids: list[int]) -> int:
    now = utcnow()
    with db.write() as session:  # type: ignore[attr-defined]
        incident = Incident(brand_id=brand, first_seen_at=now, last_seen_at=now)
        session.add(incident)
        session.flush()
        session.add_all(IncidentMention(mention_id=i, incident_id=incident.id, similarity=0.9) for i in mention_ids)
        session.flush()
        incidents.refresh_summary(session, incident.id)  # languages and platforms, as detection stores them
        return incident.id


def test_incident_languages_and_who_resolved_or_scheduled_show_as_typed(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    db = dashboard_db(tmp_path, monkeypatch)
    brand = add_brand(db, "Acme")
    open_id = _incident(db, brand, [add_mention(db, brand_id=brand, lang=LANG) for _ in range(3)])
    resolved_id = _incident(db, brand, [add_mention(db, brand_id=brand) for _ in range(2)])
    incidents.resolve_incident(db, resolved_id, Principal(NAME, Role.AGENT))
    checked = add_mention(db, brand_id=brand, status="open")
    followups.resolve_with_check_in(db, checked, "All good now?", utcnow() + timedelta(hours=1),
                                    Principal(NAME, Role.AGENT))
    followups.run_due(db, utcnow() + timedelta(hours=2))

    at = signed_in_app(db, "ana", Role.AGENT)
    at.switch_page("pages/incidents.py").run()
    _assert_no_live_hostile_markdown(at)
    assert [e.label for e in at.expander] == [f"#{open_id} · Acme · 3 mentions · {md_escape(LANG)} 3 · open"]
    assert any(c.value.startswith(f"Check-in scheduled by {md_escape(NAME)} for ") for c in at.caption)
    at.toggle(key="incidents-resolved").set_value(True).run()
    _assert_no_live_hostile_markdown(at)
    assert any(c.value.startswith(f"Resolved by {md_escape(NAME)} at ") for c in at.caption)
    db.dispose()
