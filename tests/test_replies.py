import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest

from monitor import audit
from monitor.access import Principal
from monitor.errors import ReplyError, ReplyStateError
from monitor.models import Mention, Reply, utcnow
from monitor.replies import SENDER_GONE_AFTER, draft_reply, outcome_unknown, resolve_unknown, send_reply
from monitor.storage import Database
from connectors.base import BadPayload, ConnectorError, ConnectorSettings, DeliveryUnknown, PostedReply, ReplyTarget
from tests.connector_doubles import RecordingReplyConnector, T0
from tests.fault_tools import wait_until
from tests.principals import ADMIN, ANA, BEN


def add_mention(db: Database, replyable: bool = True) -> int:
    with db.write() as session:
        m = Mention(platform="scripted", external_id=f"m{replyable}", text="@acme help", created_at=T0,
                    replyable=replyable, raw={})
        session.add(m)
        session.flush()
        return m.id


def reply_state(db: Database, reply_id: int) -> Reply:
    with db.read() as session:
        reply = session.get(Reply, reply_id)
        assert reply is not None
        return reply


def test_draft_then_send_posts_once_and_records_first_response(db: Database, connector: RecordingReplyConnector) -> None:
    mention_id = add_mention(db)
    reply = draft_reply(db, mention_id, "Sorry! DM us your order number.", author=ANA)
    sent = send_reply(db, reply.id, connector, actor=ANA)
    assert sent.state == "sent" and sent.external_id == "r1" and sent.attempts == 1
    assert connector.calls == [("mTrue", "Sorry! DM us your order number.")]
    with pytest.raises(ReplyStateError, match="is sent; it will not be sent again"):
        send_reply(db, reply.id, connector, actor=ANA)
    assert len(connector.calls) == 1
    with db.read() as session:
        assert session.get(Mention, mention_id).first_response_at is not None
        actions = [(e.actor, e.action) for e in reversed(audit.entries(session, ADMIN, mention_id))]
    assert actions == [("ana", "reply.draft"), ("ana", "reply.send"), ("ana", "reply.sent")]


def test_two_simultaneous_sends_post_exactly_once(db: Database, connector: RecordingReplyConnector) -> None:
    reply = draft_reply(db, add_mention(db), "On it!", author=ANA)
    RecordingReplyConnector.gate = threading.Event()
    outcomes: list[str] = []

    def click(actor: Principal) -> None:
        try:
            outcomes.append(send_reply(db, reply.id, connector, actor=actor).state)
        except ReplyStateError:
            outcomes.append("refused")

    threads = [threading.Thread(target=click, args=(who,)) for who in (ANA, BEN)]
    for t in threads:
        t.start()
    RecordingReplyConnector.gate.set()
    for t in threads:
        t.join(10)
    assert sorted(outcomes) == ["refused", "sent"]
    assert len(connector.calls) == 1


def test_a_platform_error_fails_the_reply_and_a_retry_sends_it(db: Database, connector: RecordingReplyConnector) -> None:
    reply = draft_reply(db, add_mention(db), "Hello", author=ANA)
    RecordingReplyConnector.fail_with = ConnectorError("403 Forbidden: reply not allowed")
    failed = send_reply(db, reply.id, connector, actor=ANA)
    assert failed.state == "failed" and "403" in (failed.error or "")
    retried = send_reply(db, reply.id, connector, actor=BEN)
    assert retried.state == "sent" and retried.attempts == 2 and retried.error is None


# No answer, or one that cannot be read after the platform took the request (it lacked the new post's
# id): marked failed, a retry had posted that one twice.
@pytest.mark.parametrize("outcome", [DeliveryUnknown("read timed out after sending"),
                                     BadPayload("X accepted the reply but its answer has no data.id")])
def test_an_unknown_outcome_is_never_retried_automatically(db: Database, connector: RecordingReplyConnector,
                                                           outcome: Exception) -> None:
    reply = draft_reply(db, add_mention(db), "Hello", author=ANA)
    RecordingReplyConnector.fail_with = outcome
    stuck = send_reply(db, reply.id, connector, actor=ANA)
    assert stuck.state == "sending" and "check the platform" in (stuck.error or "")
    with pytest.raises(ReplyStateError):
        send_reply(db, reply.id, connector, actor=ANA)
    assert len(connector.calls) == 1
    resolved = resolve_unknown(db, reply.id, actor=ANA, posted=False)
    assert resolved.state == "failed"
    assert send_reply(db, reply.id, connector, actor=ANA).state == "sent"
    assert len(connector.calls) == 2


def test_a_reply_still_being_sent_cannot_be_marked_not_posted(db: Database, connector: RecordingReplyConnector) -> None:
    reply = draft_reply(db, add_mention(db), "Hello", author=ANA)
    RecordingReplyConnector.gate = threading.Event()
    sender = threading.Thread(target=send_reply, args=(db, reply.id, connector, ANA))
    sender.start()
    try:
        wait_until(lambda: reply_state(db, reply.id).state == "sending", 5, "the send to start")
        # "Not posted" while the send is under way made it retryable, and the retry posted it twice.
        with pytest.raises(ReplyStateError, match="is being sent now"):
            resolve_unknown(db, reply.id, actor=BEN, posted=False)
    finally:
        RecordingReplyConnector.gate.set()
        sender.join(10)
    assert reply_state(db, reply.id).state == "sent" and len(connector.calls) == 1


def test_a_reply_whose_sender_died_mid_send_can_be_checked_after_a_while(db: Database,
                                                                         connector: RecordingReplyConnector) -> None:
    reply = draft_reply(db, add_mention(db), "Hello", author=ANA)
    with db.write() as session:  # as a kill -9 between the claim and the platform's answer leaves it
        row = session.get_one(Reply, reply.id)
        row.state, row.updated_at = "sending", utcnow() - SENDER_GONE_AFTER + timedelta(seconds=30)
    assert not outcome_unknown(reply_state(db, reply.id))
    with db.write() as session:
        session.get_one(Reply, reply.id).updated_at = utcnow() - SENDER_GONE_AFTER - timedelta(seconds=1)
    assert outcome_unknown(reply_state(db, reply.id))
    assert resolve_unknown(db, reply.id, actor=BEN, posted=False).state == "failed"
    assert send_reply(db, reply.id, connector, actor=BEN).state == "sent"


def test_replies_the_platform_would_reject_are_refused_before_sending(db: Database, connector: RecordingReplyConnector) -> None:
    keyword_only = draft_reply(db, add_mention(db, replyable=False), "Hi", author=ANA)
    with pytest.raises(ReplyError, match="open the original post"):
        send_reply(db, keyword_only.id, connector, actor=ANA)
    too_long = draft_reply(db, add_mention(db), "x" * 281, author=ANA)
    with pytest.raises(ReplyError, match="281 characters; scripted allows 280"):
        send_reply(db, too_long.id, connector, actor=ANA)
    assert connector.calls == []
    assert reply_state(db, keyword_only.id).state == "draft"


class SlowFirstSend(RecordingReplyConnector):
    """The platform slow to answer the first send (it posts once released); later sends answered at once."""

    def __init__(self) -> None:
        super().__init__(ConnectorSettings())
        self.in_flight, self.release = threading.Event(), threading.Event()

    def reply(self, target: ReplyTarget, text: str, idempotency_key: str) -> PostedReply:
        if not self.in_flight.is_set():
            self.in_flight.set()
            self.release.wait(10)
        return super().reply(target, text, idempotency_key)


@contextmanager
def _a_send_that_looks_gone(db: Database) -> Iterator[tuple[Reply, SlowFirstSend]]:
    """A reply whose first send outlives SENDER_GONE_AFTER (past it, a person may check the platform);
    the platform answers that send when the block ends."""
    reply = draft_reply(db, add_mention(db), "Hello", author=ANA)
    slow = SlowFirstSend()
    sender = threading.Thread(target=send_reply, args=(db, reply.id, slow, ANA))
    sender.start()
    try:
        assert slow.in_flight.wait(5)
        with db.write() as session:
            session.get_one(Reply, reply.id).updated_at = utcnow() - SENDER_GONE_AFTER - timedelta(seconds=1)
        yield reply, slow
    finally:
        slow.release.set()
        sender.join(10)


def test_a_late_send_does_not_overwrite_the_outcome_of_the_retry_after_a_check(
        db: Database, connector: RecordingReplyConnector) -> None:
    with _a_send_that_looks_gone(db) as (reply, slow):
        resolve_unknown(db, reply.id, actor=BEN, posted=False)  # not on the platform (yet)
        retried = send_reply(db, reply.id, slow, actor=BEN)
        assert (retried.state, retried.external_id, retried.attempts) == ("sent", "r1", 2)
    final = reply_state(db, reply.id)
    assert (final.state, final.external_id, final.attempts) == ("sent", "r1", 2), "the retry's post, as recorded"
    with db.read() as session:
        [late] = [e for e in audit.entries(session, ADMIN, final.mention_id) if e.action == "reply.late_outcome"]
    assert late.actor == "ana" and late.details["attempt"] == 1 and late.details["outcome"] == "sent"
    assert late.details["external_id"] == "r2", "what the platform said, kept for whoever cleans up the duplicate"


def test_a_late_failure_does_not_make_a_reply_checked_as_posted_retryable(
        db: Database, connector: RecordingReplyConnector) -> None:
    with _a_send_that_looks_gone(db) as (reply, slow):
        assert resolve_unknown(db, reply.id, actor=BEN, posted=True, external_id="seen-1").state == "sent"
        RecordingReplyConnector.fail_with = ConnectorError("502 Bad Gateway")
    final = reply_state(db, reply.id)
    assert (final.state, final.external_id, final.error) == ("sent", "seen-1", None)
    with pytest.raises(ReplyStateError, match="is sent"):
        send_reply(db, reply.id, slow, actor=BEN)
