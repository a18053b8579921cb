"""A teammate answered the customer after the check-in was scheduled. "Approve and send" on the Incidents page, and
the approval panel's "Send approved reply" for the check-in's draft, posted the check-in next to that answer, unread.
Now both say who replied, show the reply (the Incidents page lists no replies of its own) and send the check-in once
the approver ticks "I have read it" for that reply."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

pytest.importorskip("streamlit", reason="the dashboard needs streamlit: pip install 'mentiondesk[dashboard]'")

from streamlit.testing.v1 import AppTest  # noqa: E402

from connectors.sample import SampleConnector, SampleSettings  # noqa: E402
from monitor import followups  # noqa: E402
from monitor.access import Principal, Role  # noqa: E402
from monitor.models import CheckIn, Reply, utcnow  # noqa: E402
from monitor.replies import add_draft, approve_reply, draft_reply, send_reply  # noqa: E402
from monitor.storage import Database  # noqa: E402
from dashboard.safe import md_escape  # noqa: E402
from tests.principals import ADMIN, ANA, BEN  # noqa: E402
from tests.test_dashboard_fixtures import add_brand, add_mention, dashboard_db, signed_in_app  # noqa: E402

ACK = "I have read it; send mine as a follow-up"
BENS = "We found your parcel, it is on its way again!"


def _reply(db: Database, mention_id: int, author: Principal, body: str, approval: bool) -> None:
    reply = draft_reply(db, mention_id, body, author)
    if approval:
        approve_reply(db, reply.id, ADMIN)
    assert send_reply(db, reply.id, SampleConnector(SampleSettings()), author).state == "sent"


def _answered_since_the_check_in(db: Database, mention_id: int, approval: bool = False) -> CheckIn:
    """Ana answered and resolved with a check-in, now due; then ben answered the customer again."""
    _reply(db, mention_id, ANA, "So sorry, we are on it", approval)
    check_in = followups.resolve_with_check_in(db, mention_id, "Is everything working now?",
                                               utcnow() + timedelta(days=1), ANA)
    followups.run_due(db, now=utcnow() + timedelta(days=2))
    _reply(db, mention_id, BEN, BENS, approval)
    return check_in


def _sent(db: Database, mention_id: int) -> list[str]:
    with db.read() as session:
        return list(session.scalars(select(Reply.body).where(Reply.mention_id == mention_id, Reply.state == "sent")
                                    .order_by(Reply.sent_at)))


def _refused_naming_ben(at: AppTest) -> None:
    assert not at.exception, at.exception
    refusal = md_escape("ben has already replied to this mention; read it before sending another")
    assert [e.value for e in at.error] == [f"Not sent: {refusal}. Their reply is shown below."]
    assert [c.label for c in at.checkbox] == [ACK]


def test_the_incidents_page_shows_the_reply_and_sends_the_check_in_once_it_is_read(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = dashboard_db(tmp_path, monkeypatch)
    m = add_mention(db, status="open")
    check_in = _answered_since_the_check_in(db, m)
    at = signed_in_app(db, "lead", Role.ADMIN)
    at.switch_page("pages/incidents.py").run()
    at.button(key=f"check-in-approve-{check_in.id}").click().run()
    assert _sent(db, m) == ["So sorry, we are on it", BENS], "not sent unread"
    _refused_naming_ben(at)
    assert BENS in "".join(h.proto.body for h in at.get("html")), "ben's reply is shown to be read"

    at.checkbox[0].check().run()
    at.button(key=f"check-in-approve-{check_in.id}").click().run()
    assert not at.exception and not at.error, (at.exception, at.error)
    assert [s.value for s in at.success] == ["Sent."]
    assert _sent(db, m) == ["So sorry, we are on it", BENS, "Is everything working now?"]
    db.dispose()


def test_the_approval_panel_sends_a_check_in_only_after_the_reply_since_is_read(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = dashboard_db(tmp_path, monkeypatch, brand_settings="reply_approval = true\n")
    m = add_mention(db, brand_id=add_brand(db, "Acme"), status="open")
    signed_in_app(db, "lead", Role.ADMIN)  # the dashboard syncs the config's brands (reply_approval) as it starts
    check_in = _answered_since_the_check_in(db, m, approval=True)
    at = signed_in_app(db, "lead", Role.ADMIN)
    at.query_params["mention"] = str(m)
    at.run()
    at.button(key=f"approve-{check_in.reply_id}").click().run()
    at.button(key=f"send-approved-{check_in.reply_id}").click().run()
    assert _sent(db, m) == ["So sorry, we are on it", BENS], "not sent unread"
    _refused_naming_ben(at)

    at.checkbox[0].check().run()
    at.button(key=f"send-approved-{check_in.reply_id}").click().run()
    assert not at.exception and not at.error, (at.exception, at.error)
    assert [s.value for s in at.success] == ["Reply posted\\."]
    assert _sent(db, m) == ["So sorry, we are on it", BENS, "Is everything working now?"]
    assert not at.checkbox, "the notice is gone once the check-in went out"
    db.dispose()


def test_of_two_stored_check_ins_the_incidents_page_sends_one_and_refuses_the_other_outright(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = dashboard_db(tmp_path, monkeypatch)
    m = add_mention(db, status="open")
    first = _answered_since_the_check_in(db, m)
    with db.write() as session:  # ben's, stored before one check-in at a time was enforced
        draft = add_draft(session, m, "Checking in: all good now?", BEN)
        second = CheckIn(mention_id=m, reply_id=draft.id, state="due", due_at=first.due_at, scheduled_by=BEN.name,
                         created_at=first.created_at)
        session.add(second)
        session.flush()
        second_id = second.id
    at = signed_in_app(db, "lead", Role.ADMIN)
    at.switch_page("pages/incidents.py").run()
    at.button(key=f"check-in-approve-{first.id}").click().run()
    assert _sent(db, m) == ["So sorry, we are on it", BENS], "not sent unread"
    _refused_naming_ben(at)  # one notice for the mention's two cards
    at.checkbox[0].check().run()
    at.button(key=f"check-in-approve-{first.id}").click().run()
    assert [s.value for s in at.success] == ["Sent."]

    at.button(key=f"check-in-approve-{second_id}").click().run()
    assert not at.exception, at.exception
    assert [e.value for e in at.error] == [md_escape(f"check-in {first.id} by ana asked this customer already (sent) "
                                                     "after this one was scheduled; cancel this one")]
    assert not at.checkbox, "no reading lets a second check-in through"
    assert _sent(db, m) == ["So sorry, we are on it", BENS, "Is everything working now?"]
    db.dispose()
