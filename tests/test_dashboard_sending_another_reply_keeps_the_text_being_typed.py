"""The reply box empties after a send only when the reply sent is the box's own draft. "Retry this reply" on
an older failed reply, or an approver's "Send approved reply" for a teammate's draft, used to wipe the
different reply being typed in the box."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

pytest.importorskip("streamlit", reason="the dashboard needs streamlit: pip install 'mentiondesk[dashboard]'")

from connectors.base import ConnectorError  # noqa: E402
from connectors.sample import SampleConnector  # noqa: E402
from monitor.access import Role  # noqa: E402
from monitor.models import Reply  # noqa: E402
from monitor.replies import draft_reply  # noqa: E402
from tests.principals import ANA  # noqa: E402
from tests.test_dashboard_fixtures import add_brand, add_mention, dashboard_db, signed_in_app  # noqa: E402


def _failing_first(monkeypatch: pytest.MonkeyPatch) -> dict[str, bool]:
    """The sample platform refuses replies while ``failing["now"]``."""
    failing = {"now": True}
    post = SampleConnector.reply

    def reply(self: SampleConnector, *args: object) -> object:
        if failing["now"]:
            raise ConnectorError("the platform answered 503")
        return post(self, *args)

    monkeypatch.setattr(SampleConnector, "reply", reply)
    return failing


def test_retrying_an_older_reply_keeps_the_new_one_being_typed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = dashboard_db(tmp_path, monkeypatch)
    m = add_mention(db, priority=80.0)
    failing = _failing_first(monkeypatch)
    at = signed_in_app(db, "ana")
    at.button(key=f"open-{m}").click().run()
    at.text_area(key=f"reply-text-{m}").input("first answer").run()
    at.button(key=f"send-{m}").click().run()
    with db.read() as session:
        [failed] = session.scalars(select(Reply)).all()
    assert failed.state == "failed"

    typing = "a second, longer message I am typing carefully"
    at.text_area(key=f"reply-text-{m}").input(typing).run()
    failing["now"] = False
    at.button(key=f"retry-{failed.id}").click().run()
    assert not at.exception, at.exception
    assert [s.value for s in at.success] == ["Reply posted\\."]
    assert at.text_area(key=f"reply-text-{m}").value == typing
    with db.read() as session:
        assert session.get(Reply, failed.id).state == "sent"
    db.dispose()


def test_retrying_the_boxs_own_reply_empties_the_box(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = dashboard_db(tmp_path, monkeypatch)
    m = add_mention(db, priority=80.0)
    failing = _failing_first(monkeypatch)
    at = signed_in_app(db, "ana")
    at.button(key=f"open-{m}").click().run()
    at.text_area(key=f"reply-text-{m}").input("first answer").run()
    at.button(key=f"send-{m}").click().run()
    with db.read() as session:
        [failed] = session.scalars(select(Reply)).all()
    failing["now"] = False
    at.button(key=f"retry-{failed.id}").click().run()
    assert not at.exception, at.exception
    assert at.text_area(key=f"reply-text-{m}").value == ""
    with db.read() as session:
        assert [r.state for r in session.scalars(select(Reply))] == ["sent"]
    db.dispose()


def test_sending_a_teammates_approved_reply_keeps_the_approvers_own_text(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = dashboard_db(tmp_path, monkeypatch, brand_settings="reply_approval = true\n")
    m = add_mention(db, brand_id=add_brand(db, "Acme"), priority=80.0)
    lead = signed_in_app(db, "lead", Role.ADMIN)
    draft = draft_reply(db, m, "ana's short answer", ANA)
    lead.button(key=f"open-{m}").click().run()
    typing = "lead's own follow-up, half written"
    lead.text_area(key=f"reply-text-{m}").input(typing).run()
    lead.button(key=f"approve-{draft.id}").click().run()
    lead.button(key=f"send-approved-{draft.id}").click().run()
    assert not lead.exception, lead.exception
    with db.read() as session:
        assert session.get(Reply, draft.id).state == "sent"
    assert lead.text_area(key=f"reply-text-{m}").value == typing
    db.dispose()
