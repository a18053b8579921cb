"""A check-in's reply goes out only while its check-in is due, and the check-in follows its reply's outcome."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from connectors.base import ConnectorError, DeliveryUnknown
from monitor import followups, presence, replies
from monitor.errors import ReplyStateError
from monitor.followups import FollowUpError
from monitor.models import Brand, CheckIn, CheckInState, Mention, Reply, ReplyState, utcnow
from monitor.replies import CheckInNotDue
from monitor.storage import Database
from tests.connector_doubles import RecordingReplyConnector
from tests.fault_tools import wait_until
from tests.principals import ADMIN, ANA, BEN


def _check_in(db: Database, approval: bool = False, due: bool = True, external_id: str = "m1") -> CheckIn:
    """A resolved mention with a check-in by ana, due now unless `due` is False."""
    with db.write() as session:
        brand = Brand(key=f"brand-{external_id}", name="Acme", reply_approval=approval)
        session.add(brand)
        session.flush()
        mention = Mention(brand_id=brand.id, platform="scripted", external_id=external_id,
                          text="@acme my order is late", created_at=utcnow(), replyable=True, raw={}, status="open")
        session.add(mention)
        session.flush()
        mention_id = mention.id
    check_in = followups.resolve_with_check_in(db, mention_id, "Is everything OK now?", utcnow() + timedelta(days=3),
                                               ANA)
    if due:
        assert followups.run_due(db, utcnow() + timedelta(days=4)).check_ins_due == [check_in.id]
    return check_in


def _states(db: Database, check_in: CheckIn) -> tuple[str, str]:
    with db.read() as session:
        return session.get_one(CheckIn, check_in.id).state, session.get_one(Reply, check_in.reply_id).state


def _waiting_for_approval(db: Database, check_in: CheckIn) -> list[int]:
    with db.read() as session:
        return [reply.id for reply, _ in replies.drafts_for_approval(session, check_in.mention_id)]


def test_a_cancelled_check_ins_draft_is_retired_and_can_never_be_sent(db: Database,
                                                                     connector: RecordingReplyConnector) -> None:
    # It stayed an ordinary draft: the approval panel listed it, and an approver's send posted it.
    check_in = _check_in(db, approval=True)
    replies.approve_reply(db, check_in.reply_id, ADMIN)
    followups.cancel_check_in(db, check_in.id, BEN)  # the customer wrote back meanwhile
    assert _states(db, check_in) == (CheckInState.CANCELLED.value, ReplyState.CANCELLED.value)
    assert _waiting_for_approval(db, check_in) == []
    with pytest.raises(CheckInNotDue, match="cancelled"):
        presence.send_reply_once(db, check_in.reply_id, connector, ADMIN)
    unapproved = _check_in(db, approval=True, due=False, external_id="m2")
    followups.cancel_check_in(db, unapproved.id, BEN)
    with pytest.raises(ReplyStateError, match="only a draft can be approved"):
        replies.approve_reply(db, unapproved.reply_id, ADMIN)
    assert connector.calls == []
    # Nor does it stand in the way of a reply someone writes instead.
    other = replies.draft_reply(db, check_in.mention_id, "Sorry to hear that, we are on it.", BEN)
    replies.approve_reply(db, other.id, ADMIN)
    assert presence.send_reply_once(db, other.id, connector, BEN).state == ReplyState.SENT.value


def test_a_check_ins_reply_is_not_sent_before_it_is_due(db: Database, connector: RecordingReplyConnector) -> None:
    check_in = _check_in(db, approval=True, due=False)
    assert _waiting_for_approval(db, check_in) == [], "listed once it is due"
    replies.approve_reply(db, check_in.reply_id, ADMIN)
    with pytest.raises(CheckInNotDue, match="scheduled; it is sent only while its check-in is due"):
        presence.send_reply_once(db, check_in.reply_id, connector, ADMIN)
    assert connector.calls == [] and _states(db, check_in) == ("scheduled", "draft")
    followups.run_due(db, utcnow() + timedelta(days=4))
    assert _waiting_for_approval(db, check_in) == [check_in.reply_id]
    assert followups.approve_check_in(db, check_in.id, connector, BEN).state == ReplyState.SENT.value
    assert _states(db, check_in) == ("sent", "sent") and len(connector.calls) == 1


def test_a_cancel_just_before_the_send_stops_it(db: Database, connector: RecordingReplyConnector,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    # approve_check_in checked "due", then sent without looking again, and wrote "sent" over "cancelled".
    check_in = _check_in(db)
    send = presence.send_reply_once

    def cancelled_meanwhile(*args: object, **kwargs: object) -> Reply:
        followups.cancel_check_in(db, check_in.id, BEN)
        return send(*args, **kwargs)

    monkeypatch.setattr(presence, "send_reply_once", cancelled_meanwhile)
    with pytest.raises(CheckInNotDue, match="cancelled"):
        followups.approve_check_in(db, check_in.id, connector, ANA)
    assert connector.calls == [] and _states(db, check_in) == ("cancelled", "cancelled")


def test_a_check_in_being_sent_cannot_be_cancelled(db: Database, connector: RecordingReplyConnector) -> None:
    check_in = _check_in(db)
    RecordingReplyConnector.gate = threading.Event()
    sender = threading.Thread(target=followups.approve_check_in, args=(db, check_in.id, connector, ANA))
    sender.start()
    try:
        wait_until(lambda: _states(db, check_in)[1] == ReplyState.SENDING.value, 5, "the reply to be sending")
        with pytest.raises(FollowUpError, match="is sending and cannot be cancelled"):
            followups.cancel_check_in(db, check_in.id, BEN)
    finally:
        RecordingReplyConnector.gate.set()
        sender.join(10)
    assert _states(db, check_in) == ("sent", "sent") and len(connector.calls) == 1


def test_a_check_in_whose_outcome_was_unknown_is_sent_once_a_person_confirms_it(
        db: Database, connector: RecordingReplyConnector) -> None:
    # It stayed "due" for good: listed, approving again raised, and cancelling marked a posted one cancelled.
    check_in = _check_in(db)
    RecordingReplyConnector.fail_with = DeliveryUnknown("read timed out")
    assert followups.approve_check_in(db, check_in.id, connector, ANA).state == ReplyState.SENDING.value
    assert _states(db, check_in) == ("sending", "sending") and followups.check_ins(db) == []
    with pytest.raises(FollowUpError, match="is sending"):
        followups.approve_check_in(db, check_in.id, connector, ANA)
    with pytest.raises(FollowUpError, match="is sending"):
        followups.cancel_check_in(db, check_in.id, ANA)
    replies.resolve_unknown(db, check_in.reply_id, BEN, posted=True)
    assert _states(db, check_in) == ("sent", "sent")
    with pytest.raises(FollowUpError, match="is sent"):
        followups.cancel_check_in(db, check_in.id, ANA)
    assert len(connector.calls) == 1


@pytest.mark.parametrize("failure", ["platform error", "checked: not posted"])
def test_a_check_in_whose_reply_did_not_go_out_is_due_again(db: Database, connector: RecordingReplyConnector,
                                                           failure: str) -> None:
    check_in = _check_in(db)
    if failure == "platform error":
        RecordingReplyConnector.fail_with = ConnectorError("503 Service Unavailable")
        assert followups.approve_check_in(db, check_in.id, connector, ANA).state == ReplyState.FAILED.value
    else:
        RecordingReplyConnector.fail_with = DeliveryUnknown("read timed out")
        followups.approve_check_in(db, check_in.id, connector, ANA)
        replies.resolve_unknown(db, check_in.reply_id, BEN, posted=False)
    assert _states(db, check_in) == ("due", "failed")
    assert [item.check_in.id for item in followups.check_ins(db)] == [check_in.id], "back on the Incidents page"
    assert followups.approve_check_in(db, check_in.id, connector, BEN).state == ReplyState.SENT.value
    assert _states(db, check_in) == ("sent", "sent") and len(connector.calls) == 2


def test_upgrading_puts_stored_check_ins_in_step_with_their_replies(database_url: str) -> None:
    # Rows the old code left: posted check-ins due for good or marked cancelled, a cancelled one's
    # draft still sendable.
    db = Database.open(database_url)
    db.upgrade("0014")
    stored = {"posted, left due": ("due", "sent"), "posted, then cancelled": ("cancelled", "sent"),
              "outcome unknown": ("due", "sending"), "cancelled": ("cancelled", "draft"),
              "due": ("due", "draft"), "scheduled": ("scheduled", "draft")}
    with db.write() as session:
        mention = Mention(platform="scripted", external_id="m1", text="@acme late", created_at=utcnow(), raw={})
        session.add(mention)
        session.flush()
        check_ins: dict[str, CheckIn] = {}
        for name, (check_in_state, reply_state) in stored.items():
            reply = Reply(mention_id=mention.id, body=name, author="ana", state=reply_state, idempotency_key=name)
            session.add(reply)
            session.flush()
            check_in = CheckIn(mention_id=mention.id, reply_id=reply.id, state=check_in_state, due_at=utcnow(),
                               scheduled_by="ana")
            session.add(check_in)
            session.flush()
            check_ins[name] = check_in
    db.upgrade()
    assert {name: _states(db, check_in) for name, check_in in check_ins.items()} == {
        "posted, left due": ("sent", "sent"), "posted, then cancelled": ("sent", "sent"),
        "outcome unknown": ("sending", "sending"), "cancelled": ("cancelled", "cancelled"),
        "due": ("due", "draft"), "scheduled": ("scheduled", "draft")}
    db.dispose()
