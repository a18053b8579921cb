"""On a brand whose replies need approval, an author's new draft to a mention replaces their earlier one: it is
cancelled at once, so an approver can neither approve nor post the superseded text (it could, and the
corrected draft then waited forever). An author may also withdraw a draft of theirs. Other authors' drafts and
a check-in's draft are left alone."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from connectors.sample import SampleConnector
from monitor import followups, presence, replies
from monitor.access import Role
from monitor.errors import ReplyError, ReplyStateError
from monitor.models import Brand, Mention, Reply, ReplyState, utcnow
from monitor.storage import Database
from tests.connector_doubles import RecordingReplyConnector
from tests.principals import ADMIN, ANA, BEN
from tests.test_dashboard import _app
from tests.test_dashboard_fixtures import add_brand, add_mention, dashboard_db


def _mention(db: Database, approval: bool = True) -> int:
    with db.write() as session:
        brand = Brand(key="acme", name="Acme", reply_approval=approval)
        session.add(brand)
        session.flush()
        mention = Mention(brand_id=brand.id, platform="scripted", external_id="m1", text="@acme my order is late",
                          created_at=utcnow(), replyable=True, raw={}, status="open")
        session.add(mention)
        session.flush()
        return mention.id


def _waiting(db: Database, mention_id: int) -> list[str]:
    with db.read() as session:
        return [reply.body for reply, _ in replies.drafts_for_approval(session, mention_id)]


def _state(db: Database, reply_id: int) -> str:
    with db.read() as session:
        return session.get_one(Reply, reply_id).state


def test_a_corrected_draft_replaces_the_earlier_one(db: Database, connector: RecordingReplyConnector) -> None:
    mention_id = _mention(db)
    old = replies.draft_reply(db, mention_id, "Your refund goes out tomorrow", ANA)
    bens = replies.draft_reply(db, mention_id, "Ben's own draft", BEN)
    new = replies.draft_reply(db, mention_id, "Your refund went out today", ANA)
    assert _state(db, old.id) == ReplyState.CANCELLED.value
    assert _waiting(db, mention_id) == ["Ben's own draft", "Your refund went out today"]
    with pytest.raises(replies.ReplyWithdrawn, match="replaced by a newer draft"):
        replies.approve_reply(db, old.id, ADMIN)
    with pytest.raises(replies.ReplyWithdrawn, match="will never be sent"):
        presence.send_reply_once(db, old.id, connector, ADMIN)
    replies.approve_reply(db, new.id, ADMIN)
    assert presence.send_reply_once(db, new.id, connector, ANA).state == ReplyState.SENT.value
    assert [text for _, text in connector.calls] == ["Your refund went out today"]
    assert _state(db, bens.id) == ReplyState.DRAFT.value


def test_an_approval_given_before_the_correction_does_not_send_the_old_text(
        db: Database, connector: RecordingReplyConnector) -> None:
    mention_id = _mention(db)
    old = replies.draft_reply(db, mention_id, "Your refund goes out tomorrow", ANA)
    replies.approve_reply(db, old.id, ADMIN)
    new = replies.draft_reply(db, mention_id, "Your refund went out today", ANA)
    with pytest.raises(replies.ReplyWithdrawn):
        presence.send_reply_once(db, old.id, connector, ADMIN)
    assert connector.calls == []
    assert _waiting(db, mention_id) == ["Your refund went out today"] and _state(db, new.id) == "draft"


def test_a_bulk_replys_draft_replaces_no_reply_of_its_author(db: Database) -> None:
    # *Send to all* names its drafts (an idempotency key); its template corrects nothing the agent wrote.
    mention_id = _mention(db)
    own = replies.draft_reply(db, mention_id, "Hi Sam, I refunded order 1234 just now", ANA)
    replies.approve_reply(db, own.id, ADMIN)
    bulk = replies.draft_reply(db, mention_id, "Hi @sam, it is fixed now.", ANA, idempotency_key="incident-1-m1")
    assert _state(db, own.id) == _state(db, bulk.id) == ReplyState.DRAFT.value


def test_a_check_ins_draft_is_not_replaced(db: Database) -> None:
    mention_id = _mention(db)
    check_in = followups.resolve_with_check_in(db, mention_id, "Is everything OK now?", utcnow() + timedelta(days=3),
                                               ANA)
    replies.draft_reply(db, mention_id, "One more thing", ANA)
    assert _state(db, check_in.reply_id) == ReplyState.DRAFT.value
    with pytest.raises(ReplyError, match=f"check-in {check_in.id}'s reply: cancel the check-in"):
        replies.withdraw_draft(db, check_in.reply_id, ANA)


def test_only_its_author_withdraws_a_draft_and_it_is_never_sent(
        db: Database, connector: RecordingReplyConnector) -> None:
    mention_id = _mention(db)
    draft = replies.draft_reply(db, mention_id, "Your refund goes out tomorrow", ANA)
    replies.approve_reply(db, draft.id, ADMIN)
    with pytest.raises(ReplyError, match="only its author can withdraw it"):
        replies.withdraw_draft(db, draft.id, BEN)
    replies.withdraw_draft(db, draft.id, ANA)
    assert _waiting(db, mention_id) == []
    with pytest.raises(replies.ReplyWithdrawn):
        presence.send_reply_once(db, draft.id, connector, ANA)
    with pytest.raises(ReplyStateError, match="only a draft can be withdrawn"):
        replies.withdraw_draft(db, draft.id, ANA)
    assert connector.calls == []


def test_the_approver_sees_only_the_corrected_draft_and_the_author_can_withdraw_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    posted: list[str] = []
    reply = SampleConnector.reply
    monkeypatch.setattr(SampleConnector, "reply",
                        lambda self, target, text, key: posted.append(text) or reply(self, target, text, key))
    db = dashboard_db(tmp_path, monkeypatch, brand_settings="reply_approval = true\n")
    m = add_mention(db, brand_id=add_brand(db, "Acme"))
    ana = _app(db, "ana", Role.AGENT)
    ana.button(key=f"open-{m}").click().run()
    for text in ("Your refund goes out tomorrow", "Your refund went out today"):  # ana corrects her reply
        ana.text_area(key=f"reply-text-{m}").input(text).run()
        ana.button(key=f"send-{m}").click().run()
    with db.read() as session:
        old, new = session.scalars(select(Reply).where(Reply.mention_id == m).order_by(Reply.id))
    assert (old.state, new.state) == ("cancelled", "draft")
    lead = _app(db, "lead", Role.ADMIN)
    lead.button(key=f"open-{m}").click().run()
    assert [b.key for b in lead.button if (b.key or "").startswith("approve-")] == [f"approve-{new.id}"]
    assert f"withdraw-{new.id}" not in [b.key for b in lead.button]  # not lead's to withdraw
    ana.run()
    ana.button(key=f"withdraw-{new.id}").click().run()
    assert _state(db, new.id) == ReplyState.CANCELLED.value
    lead.run()
    assert not [b for b in lead.button if (b.key or "").startswith(("approve-", "send-approved-"))]
    assert posted == []


@pytest.mark.parametrize("author_move", ["replace", "withdraw"])
def test_a_send_that_meets_the_authors_correction_says_withdrawn_not_already_sent(
        postgres_db: Database, connector: RecordingReplyConnector, monkeypatch: pytest.MonkeyPatch,
        author_move: str) -> None:
    # On PostgreSQL the send reads the draft unlocked: the author's correction (or withdrawal) can commit between
    # that read and the send's claim. Nothing is posted either way, and the approver must not be told it was.
    db = postgres_db
    mention_id = _mention(db)
    old = replies.draft_reply(db, mention_id, "Your refund goes out tomorrow", ANA)
    replies.approve_reply(db, old.id, ADMIN)
    sender, read_by_send = threading.current_thread(), replies.needs_approval

    def author_moves_after_the_send_read_the_draft(session: Any, mention: Mention) -> bool:
        if threading.current_thread() is sender:
            monkeypatch.setattr(replies, "needs_approval", read_by_send)
            move = ((lambda: replies.draft_reply(db, mention_id, "Your refund went out today", ANA))
                    if author_move == "replace" else (lambda: replies.withdraw_draft(db, old.id, ANA)))
            author = threading.Thread(target=move)
            author.start()
            author.join(10)
            assert not author.is_alive()
        return read_by_send(session, mention)

    monkeypatch.setattr(replies, "needs_approval", author_moves_after_the_send_read_the_draft)
    with pytest.raises(replies.ReplyWithdrawn, match="will never be sent"):
        presence.send_reply_once(db, old.id, connector, ADMIN)
    assert connector.calls == [] and _state(db, old.id) == ReplyState.CANCELLED.value
