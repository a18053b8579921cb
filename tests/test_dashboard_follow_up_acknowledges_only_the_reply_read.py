""""I have read it; send mine as a follow-up" acknowledges the one reply it was ticked for. Ticked for ben's reply,
it used to stay ticked when chloe's newer reply refused the send, and to acknowledge hers unseen: the next click,
or the second half of a double click, posted a third reply on top of both."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

pytest.importorskip("streamlit", reason="the dashboard needs streamlit: pip install 'mentiondesk[dashboard]'")

from streamlit.proto.WidgetStates_pb2 import WidgetStates  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402
from streamlit.testing.v1.element_tree import Checkbox  # noqa: E402

from connectors.sample import SampleConnector, SampleSettings  # noqa: E402
from monitor.access import Principal, Role  # noqa: E402
from monitor.models import Reply  # noqa: E402
from monitor.replies import draft_reply, send_reply  # noqa: E402
from monitor.storage import Database  # noqa: E402
from tests.principals import BEN  # noqa: E402
from tests.test_dashboard_fixtures import add_mention, dashboard_db, signed_in_app  # noqa: E402

CHLOE = Principal("chloe", Role.AGENT)


def _reply_from_another_session(db: Database, mention_id: int, author: Principal) -> None:
    reply = draft_reply(db, mention_id, f"{author.name}'s answer", author=author)
    send_reply(db, reply.id, SampleConnector(SampleSettings()), author)


def _follow_up_box(at: AppTest) -> Checkbox:
    [box] = [c for c in at.checkbox if c.label == "I have read it; send mine as a follow-up"]
    return box


def _sent_by(db: Database) -> list[str]:
    with db.read() as session:
        return sorted(r.author for r in session.scalars(select(Reply).where(Reply.state == "sent")))


def _ana_acknowledged_bens_reply(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Database, int, AppTest]:
    """Ana's send refused by ben's reply, and the box ticked for it."""
    db = dashboard_db(tmp_path, monkeypatch)
    m = add_mention(db, replyable=True)
    at = signed_in_app(db, "ana")
    at.button(key=f"open-{m}").click().run()
    _reply_from_another_session(db, m, BEN)
    at.text_area(key=f"reply-text-{m}").input("ana's answer").run()
    at.button(key=f"send-{m}").click().run()
    assert any("ben has already replied" in e.value for e in at.error)
    _follow_up_box(at).check().run()
    return db, m, at


def test_a_newer_reply_needs_its_own_tick(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db, m, at = _ana_acknowledged_bens_reply(tmp_path, monkeypatch)
    _reply_from_another_session(db, m, CHLOE)  # sent while ana read ben's
    at.button(key=f"send-{m}").click().run()
    assert not at.exception, at.exception
    assert any("chloe has already replied" in e.value for e in at.error)
    assert _follow_up_box(at).value is False
    at.button(key=f"send-{m}").click().run()  # one more click, chloe's reply still unread
    assert any("chloe has already replied" in e.value for e in at.error)
    assert _sent_by(db) == ["ben", "chloe"]

    _follow_up_box(at).check().run()
    at.button(key=f"send-{m}").click().run()
    assert [s.value for s in at.success] == ["Reply posted\\."]
    assert _sent_by(db) == ["ana", "ben", "chloe"]
    db.dispose()


def _second_click_of_a_double_click(at: AppTest, before_first: WidgetStates, button_key: str) -> AppTest:
    """What a browser sends when the second click lands before the first click's redraw: the page's values as
    they were before the first click (the box still ticked), and the button pressed again."""
    states = WidgetStates()
    states.CopyFrom(before_first)
    button_id = at.button(key=button_key).id
    for widget in states.widgets:
        if widget.id == button_id:
            widget.trigger_value = True
    return at._run(states)


def test_a_double_click_never_acknowledges_a_reply_refused_by_its_first_click(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db, m, at = _ana_acknowledged_bens_reply(tmp_path, monkeypatch)
    _reply_from_another_session(db, m, CHLOE)
    before_first = at._tree.get_widget_states()
    at.button(key=f"send-{m}").click().run()  # refused: chloe's reply is newer than the one ana read
    _second_click_of_a_double_click(at, before_first, f"send-{m}")
    assert not at.exception, at.exception
    assert _sent_by(db) == ["ben", "chloe"]
    at.button(key=f"send-{m}").click().run()  # and a click after the page showed the refusal
    assert any("chloe has already replied" in e.value for e in at.error)
    assert _sent_by(db) == ["ben", "chloe"]
    db.dispose()
