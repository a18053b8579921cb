"""Approving a check-in looked only at the newest reply and counted it as read unless it was another check-in: a
check-in approved while a teammate's reply was being sent went out next to it ("Did it arrive?" beside "We're still
looking into it"), a teammate's reply sent since it was scheduled was waved through unread, and of two check-ins
stored before one-at-a-time the second was sent once anyone had replied after the first. Only the reply sent before
the check-in was scheduled is what it follows up on; any newer one needs the approver to say they read it."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from monitor import followups, presence, replies
from monitor.models import CheckIn, CheckInState, Mention, Reply, utcnow
from monitor.presence import ReplyCollision
from monitor.storage import Database
from tests.connector_doubles import RecordingReplyConnector
from tests.fault_tools import wait_until
from tests.principals import ANA, BEN, LEAD

ANSWER, CHECK_IN = "Sorry! A replacement is on its way.", "Did the replacement arrive?"


def _due_check_in(db: Database, connector: RecordingReplyConnector) -> tuple[int, CheckIn]:
    """A mention ana answered and resolved with a check-in that is due now: its answer's id and the check-in."""
    with db.write() as session:
        mention = Mention(platform="scripted", external_id="m1", text="@acme my parcel arrived broken",
                          created_at=utcnow(), replyable=True, raw={}, status="open")
        session.add(mention)
        session.flush()
        mention_id = mention.id
    answer = replies.draft_reply(db, mention_id, ANSWER, ANA)
    assert presence.send_reply_once(db, answer.id, connector, ANA).state == "sent"
    due_at = utcnow() + timedelta(days=2)
    check_in = followups.resolve_with_check_in(db, mention_id, CHECK_IN, due_at, ANA)
    assert followups.run_due(db, due_at + timedelta(minutes=1)).check_ins_due == [check_in.id]
    return answer.id, check_in


def _posted(connector: RecordingReplyConnector) -> list[str]:
    return [text for _, text in connector.calls]


def _reply_state(db: Database, reply_id: int) -> str:
    with db.read() as session:
        return session.get_one(Reply, reply_id).state


def _state(db: Database, check_in_id: int) -> str:
    with db.read() as session:
        return session.get_one(CheckIn, check_in_id).state


def test_a_check_in_is_refused_while_a_teammates_reply_is_being_sent(db: Database,
                                                                     connector: RecordingReplyConnector) -> None:
    answer_id, check_in = _due_check_in(db, connector)
    still_looking = replies.draft_reply(db, check_in.mention_id, "We're still looking into it, sorry!", BEN)
    RecordingReplyConnector.gate = threading.Event()  # ben's send waits on the platform
    sender = threading.Thread(target=presence.send_reply_once,
                              args=(db, still_looking.id, connector, BEN), kwargs={"follow_up_of": answer_id})
    sender.start()
    try:
        wait_until(lambda: _reply_state(db, still_looking.id) == "sending", 5, "ben's reply to be sending")
        with pytest.raises(ReplyCollision, match="ben is sending a reply right now") as refused:
            followups.approve_check_in(db, check_in.id, connector, LEAD)
        assert refused.value.other_reply_id == still_looking.id
    finally:
        RecordingReplyConnector.gate.set()
        sender.join(10)
    assert _posted(connector) == [ANSWER, "We're still looking into it, sorry!"], "the check-in was not posted"
    assert _state(db, check_in.id) == CheckInState.DUE.value, "still waiting for approval"


def test_a_reply_sent_since_the_check_in_was_scheduled_must_be_read_before_it_is_sent(
        db: Database, connector: RecordingReplyConnector) -> None:
    answer_id, check_in = _due_check_in(db, connector)
    thanks = replies.draft_reply(db, check_in.mention_id, "Glad it is sorted, thanks!", BEN)
    assert presence.send_reply_once(db, thanks.id, connector, BEN, follow_up_of=answer_id).state == "sent"
    with pytest.raises(ReplyCollision, match="ben has already replied") as refused:
        followups.approve_check_in(db, check_in.id, connector, LEAD)
    assert refused.value.other_reply_id == thanks.id
    with pytest.raises(ReplyCollision, match="ben has already replied"):  # read the answer it follows up: not enough
        followups.approve_check_in(db, check_in.id, connector, LEAD, follow_up_of=answer_id)
    assert _posted(connector) == [ANSWER, "Glad it is sorted, thanks!"]

    assert followups.approve_check_in(db, check_in.id, connector, LEAD, follow_up_of=thanks.id).state == "sent"
    assert _posted(connector) == [ANSWER, "Glad it is sorted, thanks!", CHECK_IN]
    assert _state(db, check_in.id) == CheckInState.SENT.value


def test_the_second_of_two_legacy_check_ins_stays_refused_after_anyone_replied(
        db: Database, connector: RecordingReplyConnector) -> None:
    _, first = _due_check_in(db, connector)
    with db.write() as session:  # ben's, stored before one check-in at a time was enforced
        draft = replies.add_draft(session, first.mention_id, "Checking in: all good now?", BEN)
        second = CheckIn(mention_id=first.mention_id, reply_id=draft.id, state=CheckInState.DUE.value,
                         due_at=first.due_at, scheduled_by=BEN.name, created_at=utcnow())
        session.add(second)
        session.flush()
        second_id = second.id
    assert followups.approve_check_in(db, first.id, connector, BEN).state == "sent"
    great = replies.draft_reply(db, first.mention_id, "Great to hear, thanks!", ANA)
    assert presence.send_reply_once(db, great.id, connector, ANA, follow_up_of=first.reply_id).state == "sent"
    asked = f"check-in {first.id} by ana asked this customer already"
    with pytest.raises(ReplyCollision, match=asked):
        followups.approve_check_in(db, second_id, connector, ANA)
    with pytest.raises(followups.AskedAlready, match=asked):  # reading the newest reply does not make it right
        followups.approve_check_in(db, second_id, connector, ANA, follow_up_of=great.id)
    assert _posted(connector) == [ANSWER, CHECK_IN, "Great to hear, thanks!"], "the customer was asked once"
