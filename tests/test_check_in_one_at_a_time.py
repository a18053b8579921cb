"""A mention has one check-in under way at a time: the customer is never asked "is everything working?" twice."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from monitor import followups, presence, replies
from monitor.followups import CheckInUnderWay
from monitor.models import CheckIn, CheckInState, Mention, Reply, utcnow
from monitor.presence import ReplyCollision
from monitor.storage import Database
from tests.connector_doubles import RecordingReplyConnector
from tests.principals import ANA, BEN


def _answered_mention(db: Database, connector: RecordingReplyConnector) -> int:
    """An open mention ana answered; returns its id."""
    with db.write() as session:
        mention = Mention(platform="scripted", external_id="m1", text="@acme my order is late", created_at=utcnow(),
                          replyable=True, raw={}, status="open")
        session.add(mention)
        session.flush()
        mention_id = mention.id
    answer = replies.draft_reply(db, mention_id, "Sorry! It ships today.", ANA)
    assert presence.send_reply_once(db, answer.id, connector, ANA).state == "sent"
    return mention_id


def _stored(db: Database, mention_id: int) -> tuple[int, int]:
    with db.read() as session:
        return (session.scalar(select(func.count()).select_from(CheckIn).where(CheckIn.mention_id == mention_id)),
                session.scalar(select(func.count()).select_from(Reply).where(Reply.mention_id == mention_id)))


def test_a_second_check_in_is_refused_while_one_is_scheduled_or_due(db: Database,
                                                                    connector: RecordingReplyConnector) -> None:
    # Two agents each clicked "Resolve and schedule the check-in": both were scheduled, and both posted.
    mention_id = _answered_mention(db, connector)
    due_at = utcnow() + timedelta(days=3)
    first = followups.resolve_with_check_in(db, mention_id, "Is everything working now?", due_at, ANA)
    before = _stored(db, mention_id)
    with pytest.raises(CheckInUnderWay, match=f"already has check-in {first.id} \\(scheduled, .*scheduled by ana\\)"):
        followups.resolve_with_check_in(db, mention_id, "Checking in: all good now?", due_at, BEN)
    followups.run_due(db, due_at + timedelta(hours=1))
    with pytest.raises(CheckInUnderWay, match=f"already has check-in {first.id} \\(due, "):
        followups.resolve_with_check_in(db, mention_id, "Checking in: all good now?", due_at, BEN)
    assert _stored(db, mention_id) == before, "no second check-in, no orphan draft"
    assert followups.approve_check_in(db, first.id, connector, BEN).state == "sent"
    assert [text for _, text in connector.calls] == ["Sorry! It ships today.", "Is everything working now?"]


def test_a_new_check_in_may_follow_one_that_was_sent_or_cancelled(db: Database,
                                                                  connector: RecordingReplyConnector) -> None:
    mention_id = _answered_mention(db, connector)
    due_at = utcnow() + timedelta(days=3)
    cancelled = followups.resolve_with_check_in(db, mention_id, "Is everything working now?", due_at, ANA)
    followups.cancel_check_in(db, cancelled.id, ANA)
    sent = followups.resolve_with_check_in(db, mention_id, "Did the parcel arrive?", due_at, ANA)
    followups.run_due(db, due_at + timedelta(hours=1))
    assert followups.approve_check_in(db, sent.id, connector, BEN).state == "sent"
    # Weeks later the customer writes again; the next check-in follows up on the one they already got.
    later = followups.resolve_with_check_in(db, mention_id, "And the replacement?", due_at + timedelta(days=7), BEN)
    followups.run_due(db, due_at + timedelta(days=8))
    assert followups.approve_check_in(db, later.id, connector, ANA).state == "sent"
    assert [text for _, text in connector.calls] == ["Sorry! It ships today.", "Did the parcel arrive?",
                                                     "And the replacement?"]


def test_of_two_check_ins_stored_before_the_fix_only_the_first_is_sent(db: Database,
                                                                       connector: RecordingReplyConnector) -> None:
    # Approving the second counted the first one's reply as read, so it posted with no collision warning.
    mention_id = _answered_mention(db, connector)
    due_at = utcnow() + timedelta(days=3)
    first = followups.resolve_with_check_in(db, mention_id, "Is everything working now?", due_at, ANA)
    with db.write() as session:  # ben's, scheduled at the same time, as the refusal above did not yet stop it
        draft = replies.add_draft(session, mention_id, "Checking in: all good now?", BEN)
        second = CheckIn(mention_id=mention_id, reply_id=draft.id, state=CheckInState.SCHEDULED.value, due_at=due_at,
                         scheduled_by=BEN.name, created_at=utcnow())
        session.add(second)
    followups.run_due(db, due_at + timedelta(hours=1))
    assert followups.approve_check_in(db, first.id, connector, ANA).state == "sent"
    with pytest.raises(ReplyCollision, match=f"check-in {first.id} by ana asked this customer already") as refused:
        followups.approve_check_in(db, second.id, connector, BEN)
    assert refused.value.other_reply_id == first.reply_id
    assert [text for _, text in connector.calls] == ["Sorry! It ships today.", "Is everything working now?"]
    followups.cancel_check_in(db, second.id, BEN)  # what is left to do with it
    assert followups.check_ins(db) == []
