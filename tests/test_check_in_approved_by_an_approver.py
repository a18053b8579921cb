"""On a brand that requires approval, an approver's "Approve and send" on a due check-in is its approval."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from monitor import followups
from monitor.access import Principal
from monitor.models import (
    AuditEntry,
    Brand,
    CheckIn,
    CheckInState,
    Mention,
    ReplyApproval,
    utcnow,
)
from monitor.replies import ApprovalRequired
from monitor.storage import Database
from tests.connector_doubles import RecordingReplyConnector
from tests.principals import ADMIN, ANA, BEN


def _due_check_in(db: Database, scheduled_by: Principal) -> CheckIn:
    with db.write() as session:
        brand = Brand(key="acme", name="Acme", reply_approval=True)
        session.add(brand)
        session.flush()
        mention = Mention(brand_id=brand.id, platform="scripted", external_id="m1", text="@acme my order is late",
                          created_at=utcnow(), replyable=True, raw={}, status="open")
        session.add(mention)
        session.flush()
        mention_id = mention.id
    due_at = utcnow() + timedelta(days=3)
    check_in = followups.resolve_with_check_in(db, mention_id, "Is everything OK now?", due_at, scheduled_by)
    assert followups.run_due(db, due_at + timedelta(hours=1)).check_ins_due == [check_in.id]
    return check_in


def _approval(db: Database, check_in: CheckIn) -> tuple[str | None, list[str]]:
    """Who approved the check-in's reply, and the audit entries of its mention."""
    with db.read() as session:
        approval = session.get(ReplyApproval, check_in.reply_id)
        actions = session.scalars(select(AuditEntry.action).where(AuditEntry.mention_id == check_in.mention_id)
                                  .order_by(AuditEntry.id))
        return (approval.approver if approval else None), list(actions)


def test_an_approvers_approve_and_send_approves_and_sends_the_check_in(db: Database,
                                                                       connector: RecordingReplyConnector) -> None:
    check_in = _due_check_in(db, ANA)
    assert followups.approve_check_in(db, check_in.id, connector, ADMIN).state == "sent"
    assert connector.calls == [("m1", "Is everything OK now?")]
    approver, actions = _approval(db, check_in)
    assert approver == "ada" and "reply.approve" in actions
    assert followups.check_ins(db, (CheckInState.SENT.value,))[0].check_in.approved_by == "ada"


@pytest.mark.parametrize("who", ["the author", "an agent"])
def test_a_check_in_still_needs_someone_else_with_the_approver_role(
        db: Database, connector: RecordingReplyConnector, who: str) -> None:
    author, sender = (ADMIN, ADMIN) if who == "the author" else (ANA, BEN)
    check_in = _due_check_in(db, author)
    with pytest.raises(ApprovalRequired, match="waits for approval"):
        followups.approve_check_in(db, check_in.id, connector, sender)
    assert connector.calls == [] and _approval(db, check_in)[0] is None
    assert [item.check_in.id for item in followups.check_ins(db)] == [check_in.id], "still due"
