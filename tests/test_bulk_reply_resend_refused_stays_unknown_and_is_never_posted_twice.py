"""A bulk reply Mastodon may have posted (its gateway answered 502) is re-sent by the next *Send to all* under
its idempotency key. When Mastodon refuses that re-send (429: its throttle answers before it looks at the key),
nothing was posted this time, but the first send may have been: the reply stays *check on the platform*, never
a plain "Not posted" that Retry (or a run after Mastodon forgot the key) posts a second time. And the hour in
which a re-send is safe counts from the first send, not from the refused one, as does a person's "it was posted"
(the reply's time and the mention's first response)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from connectors.emulators import RunningEmulators
from connectors.mastodon import IDEMPOTENCY_WINDOW
from monitor.errors import ReplyStateError
from monitor.incidents import BulkReplyReport
from monitor.models import AuditEntry, Mention, Reply, ReplyState
from monitor.replies import outcome_unknown, resolve_unknown, send_reply
from monitor.storage import Database
from tests.principals import ANA
from tests.test_mastodon_reply_outcomes import CutOffBulkReply, _cut_off_bulk_reply


def _resend_refused_by_429(emulators: RunningEmulators, db: Database) -> tuple[CutOffBulkReply, BulkReplyReport]:
    """Run 1 leaves the reply unknown (Mastodon stored it, then 502); run 2, minutes later, re-sends it and
    Mastodon answers 429 with an hour to wait. Both runs, with run 2's report."""
    cut_off = _cut_off_bulk_reply(emulators, db)
    emulators.mastodon.inject("rate_limit", retry_after=3600, path_contains="/api/v1/statuses")
    return cut_off, cut_off.rerun()


def _reply(db: Database) -> Reply:
    with db.read() as session:
        return session.scalars(select(Reply)).one()


def test_a_refused_resend_leaves_the_reply_to_be_checked_and_a_run_an_hour_later_does_not_post_it_again(
        emulators: RunningEmulators, db: Database) -> None:
    (mention, post, keys, connector, rerun), second = _resend_refused_by_429(emulators, db)
    with db.write() as session:  # run 1 began an hour ago, run 2 (the refused re-send) 20 minutes ago
        first, refused = session.scalars(select(AuditEntry).where(AuditEntry.action == "reply.send")
                                         .order_by(AuditEntry.id)).all()
        first.at -= IDEMPOTENCY_WINDOW + timedelta(minutes=1)
        refused.at -= timedelta(minutes=20)
    emulators.mastodon.forget_idempotency_keys()
    third = rerun()
    connector.close()
    assert len(emulators.mastodon.replies_to(post)) == 1, "the customer got the bulk reply twice"
    # Run 2 listed it to check on the platform (not as failed), saying why and when Mastodon takes a re-send.
    assert second.sent == [] and second.failed == {} and second.waiting_until is not None
    assert list(second.unknown) == [mention.id] and "may have been posted" in second.unknown[mention.id]
    assert "refused (Mastodon answered 429" in second.unknown[mention.id]
    assert "send it again after" in second.unknown[mention.id]
    assert third.sent == [] and list(third.unknown) == [mention.id]
    assert "may have been posted" in third.unknown[mention.id] and "Not sent again" in third.unknown[mention.id]
    reply = _reply(db)
    assert reply.state == ReplyState.SENDING.value and outcome_unknown(reply)  # the dashboard asks for a check
    assert (reply.error or "").startswith("delivery unknown, check the platform before retrying: Mastodon answered "
                                          "the reply with a server error (502)")


def test_after_a_refused_resend_retry_is_refused_and_a_person_checks_the_thread(
        emulators: RunningEmulators, db: Database) -> None:
    (mention, post, keys, connector, rerun), _ = _resend_refused_by_429(emulators, db)
    reply = _reply(db)
    with db.write() as session:  # run 1 began 20 minutes before run 2's refused re-send
        first = session.scalars(select(AuditEntry).where(AuditEntry.action == "reply.send")
                                .order_by(AuditEntry.id)).first()
        first.at -= timedelta(minutes=20)
    emulators.mastodon.forget_idempotency_keys()  # an hour later
    with pytest.raises(ReplyStateError, match="will not be sent again"):
        send_reply(db, reply.id, connector, ANA)  # the dashboard's Retry
    assert len(emulators.mastodon.replies_to(post)) == 1
    checked = resolve_unknown(db, reply.id, ANA, posted=True)  # "I checked: it was posted"
    connector.close()
    assert checked.state == ReplyState.SENT.value
    assert len(emulators.mastodon.replies_to(post)) == 1
    # Dated by run 1's send, the one that posted it, not by the re-send the platform refused: the first
    # response (and the SLA figures) count from then.
    with db.read() as session:
        first_sent = session.scalars(select(AuditEntry.at).where(AuditEntry.action == "reply.send")
                                     .order_by(AuditEntry.id)).first()
        assert session.get_one(Reply, reply.id).sent_at == first_sent
        assert session.get_one(Mention, mention.id).first_response_at == first_sent
