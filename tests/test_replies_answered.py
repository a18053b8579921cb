"""A mention already answered: a reply that did not go out since does not hide the one that did, and a
reply whose outcome a person confirms answered the mention when it was sent, not when it was checked."""

from __future__ import annotations

from datetime import timedelta

import pytest

from connectors.base import ConnectorError, DeliveryUnknown
from monitor import followups, presence, replies
from monitor.models import Mention, Reply, utcnow
from monitor.presence import ReplyCollision
from monitor.storage import Database
from tests.connector_doubles import RecordingReplyConnector
from tests.principals import ANA, BEN, LEAD


def _open_mention(db: Database) -> int:
    with db.write() as session:
        mention = Mention(platform="scripted", external_id="m1", text="@acme my order is late", created_at=utcnow(),
                          replyable=True, raw={}, status="open")
        session.add(mention)
        session.flush()
        return mention.id


def _answered_mention(db: Database, connector: RecordingReplyConnector) -> tuple[int, int]:
    """A mention ana answered; returns (mention id, her reply's id)."""
    mention_id = _open_mention(db)
    answer = replies.draft_reply(db, mention_id, "Sorry! We are on it.", ANA)
    assert presence.send_reply_once(db, answer.id, connector, ANA).state == "sent"
    return mention_id, answer.id


def _check_in_due(db: Database, mention_id: int) -> int:
    due_at = utcnow() + timedelta(days=3)
    check_in = followups.resolve_with_check_in(db, mention_id, "Did your order arrive?", due_at, ANA)
    assert followups.run_due(db, due_at + timedelta(days=1)).check_ins_due == [check_in.id]
    return check_in.id


def test_a_reply_that_did_not_go_out_since_does_not_hide_the_one_that_did(
        db: Database, connector: RecordingReplyConnector) -> None:
    # Once the reply holding the mention's claim failed, the next sender posted a second answer unwarned.
    mention_id, answer_id = _answered_mention(db, connector)
    follow_up = replies.draft_reply(db, mention_id, "Any news on your side?", BEN)
    RecordingReplyConnector.fail_with = ConnectorError("503 Service Unavailable")
    assert presence.send_reply_once(db, follow_up.id, connector, BEN, follow_up_of=answer_id).state == "failed"
    unaware = replies.draft_reply(db, mention_id, "Hello! How can we help?", LEAD)
    with pytest.raises(ReplyCollision, match="ana has already replied") as refused:
        presence.send_reply_once(db, unaware.id, connector, LEAD)
    assert refused.value.other_reply_id == answer_id
    assert len(connector.calls) == 2, "the failed follow-up reached the platform; nothing else did"
    # Having read ana's reply, lead may still send theirs, on purpose.
    assert presence.send_reply_once(db, unaware.id, connector, LEAD, follow_up_of=answer_id).state == "sent"


def test_a_cancelled_check_in_does_not_hide_the_reply_it_followed_up_on(
        db: Database, connector: RecordingReplyConnector) -> None:
    mention_id, answer_id = _answered_mention(db, connector)
    check_in_id = _check_in_due(db, mention_id)
    RecordingReplyConnector.fail_with = ConnectorError("503 Service Unavailable")
    assert followups.approve_check_in(db, check_in_id, connector, BEN).state == "failed"
    followups.cancel_check_in(db, check_in_id, BEN)  # the customer wrote back meanwhile
    unaware = replies.draft_reply(db, mention_id, "Hello! How can we help?", LEAD)
    with pytest.raises(ReplyCollision, match="ana has already replied") as refused:
        presence.send_reply_once(db, unaware.id, connector, LEAD)
    assert refused.value.other_reply_id == answer_id


def test_a_check_in_follows_up_on_the_reply_sent_before_a_failed_one(
        db: Database, connector: RecordingReplyConnector) -> None:
    mention_id, answer_id = _answered_mention(db, connector)
    check_in_id = _check_in_due(db, mention_id)
    follow_up = replies.draft_reply(db, mention_id, "Any news on your side?", BEN)
    RecordingReplyConnector.fail_with = ConnectorError("503 Service Unavailable")
    assert presence.send_reply_once(db, follow_up.id, connector, BEN, follow_up_of=answer_id).state == "failed"
    assert followups.approve_check_in(db, check_in_id, connector, LEAD).state == "sent"


def _sent_and_first_response(db: Database, reply_id: int) -> tuple[object, object]:
    with db.read() as session:
        reply = session.get_one(Reply, reply_id)
        return reply.sent_at, session.get_one(Mention, reply.mention_id).first_response_at


def test_a_reply_confirmed_posted_answered_the_mention_when_its_send_began(
        db: Database, connector: RecordingReplyConnector) -> None:
    # Dated when someone checked the platform, which could be an hour later: an SLA met showed as missed.
    mention_id = _open_mention(db)
    reply = replies.draft_reply(db, mention_id, "Sorry! We are on it.", ANA)
    RecordingReplyConnector.fail_with = DeliveryUnknown("read timed out after sending")
    before_send = utcnow()
    assert presence.send_reply_once(db, reply.id, connector, ANA).state == "sending"
    after_send = utcnow()
    assert replies.resolve_unknown(db, reply.id, BEN, posted=True, external_id="seen-1").state == "sent"
    sent_at, first_response_at = _sent_and_first_response(db, reply.id)
    assert sent_at is not None and before_send <= sent_at <= after_send
    assert first_response_at == sent_at
