"""Follow-ups and check-ins: work that comes back later.

* A **follow-up** puts a mention in ``pending`` with a date; when the date passes,
  :func:`run_due` (the pipeline's once-a-minute tick, or ``mentiondesk followups run``) reopens it,
  so it is back in the queue's open work.
* A **check-in** is a reply scheduled when an item is resolved ("is everything working now?").
  It is drafted at once, becomes *due* at its date, and is sent only when an agent approves it,
  through the same reply state machine and claim as any reply (so it is never posted twice).
  Resolving, drafting and scheduling commit in one transaction, so a refused check-in changes nothing.
  Its state follows its reply (see :mod:`monitor.replies`): due → sending as the reply is claimed,
  then sent, or due again if the reply failed; an unknown outcome keeps it sending until a person
  resolves the reply. Cancelling retires its draft, so nothing can send it any more.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update

from connectors.base import Connector
from monitor import audit
from monitor.access import Principal, Role, require
from monitor.config import CheckInSettings
from monitor.errors import MentiondeskError, NotFound
from monitor.ingest import check_storable, in_utc
from monitor.models import CheckIn, CheckInState, FollowUp, Mention, MentionStatus, Reply, ReplyState, utcnow
from monitor.replies import UNSENT
from monitor.storage import Database
from monitor.templates import check_filled

_OPEN_WORK = (MentionStatus.NEW.value, MentionStatus.OPEN.value, MentionStatus.PENDING.value)
_CANCELLABLE = (CheckInState.SCHEDULED.value, CheckInState.DUE.value)


class FollowUpError(MentiondeskError):
    """A follow-up or check-in that cannot be set, approved or cancelled as asked."""


@dataclass(frozen=True)
class DueWork:
    reopened: list[int]  # mentions whose follow-up came due
    check_ins_due: list[int]  # check-ins now waiting for approval


# -- follow-ups -------------------------------------------------------------------------------

def set_follow_up(db: Database, mention_id: int, due_at: datetime, actor: Principal, note: str | None = None) -> None:
    """Park an open mention as ``pending`` until ``due_at``; it reopens then. Replaces an earlier date."""
    require(actor, Role.AGENT, "setting a follow-up")
    due_at = in_utc(due_at, "the follow-up date", FollowUpError)
    if note is not None:
        check_storable(note, "the follow-up note", FollowUpError)
    with db.write() as session:
        mention = session.get(Mention, mention_id)
        if mention is None:
            raise NotFound(f"mention {mention_id} not found")
        if mention.status not in _OPEN_WORK:
            raise FollowUpError(f"mention {mention_id} is {mention.status}; only open work can wait for a follow-up")
        if due_at <= utcnow():
            raise FollowUpError("the follow-up date must be in the future")
        if mention.status != MentionStatus.PENDING.value:
            audit.record(session, actor.name, "triage.status", mention_id, before=mention.status,
                         after=MentionStatus.PENDING.value)
            mention.status = MentionStatus.PENDING.value
        session.merge(FollowUp(mention_id=mention_id, due_at=due_at, set_by=actor.name, note=note,
                               created_at=utcnow(), done_at=None))
        audit.record(session, actor.name, "follow_up.set", mention_id, due_at=due_at.isoformat())


def clear_follow_up(db: Database, mention_id: int, actor: Principal) -> None:
    require(actor, Role.AGENT, "clearing a follow-up")
    with db.write() as session:
        if session.get(Mention, mention_id) is None:
            raise NotFound(f"mention {mention_id} not found")
        follow_up = session.get(FollowUp, mention_id)
        if follow_up is not None and follow_up.done_at is None:
            follow_up.done_at = utcnow()
            audit.record(session, actor.name, "follow_up.clear", mention_id)


def pending_follow_up(db: Database, mention_id: int) -> FollowUp | None:
    with db.read() as session:
        return session.scalar(select(FollowUp).where(FollowUp.mention_id == mention_id, FollowUp.done_at.is_(None)))


def run_due(db: Database, now: datetime | None = None) -> DueWork:
    """Reopen mentions whose follow-up date has passed; mark check-ins that came due."""
    now = now or utcnow()
    reopened: list[int] = []
    with db.write() as session:
        due = session.execute(
            select(FollowUp, Mention).join(Mention, Mention.id == FollowUp.mention_id)
            .where(FollowUp.done_at.is_(None), FollowUp.due_at <= now).with_for_update(of=FollowUp.__table__)
        ).all()
        for follow_up, mention in due:
            follow_up.done_at = now
            # Someone already took it up (open, resolved…): the date has done its job.
            if mention.status == MentionStatus.PENDING.value:
                mention.status = MentionStatus.OPEN.value
                audit.record(session, "mentiondesk", "follow_up.due", mention.id, before=MentionStatus.PENDING.value,
                             after=MentionStatus.OPEN.value, set_by=follow_up.set_by)
                reopened.append(mention.id)
        check_ins = list(session.scalars(
            select(CheckIn.id).where(CheckIn.state == CheckInState.SCHEDULED.value, CheckIn.due_at <= now)))
        if check_ins:
            session.execute(update(CheckIn).where(CheckIn.id.in_(check_ins), CheckIn.state == CheckInState.SCHEDULED.value)
                            .values(state=CheckInState.DUE.value))
    return DueWork(reopened, check_ins)


# -- check-ins --------------------------------------------------------------------------------

def resolve_with_check_in(db: Database, mention_id: int, body: str, due_at: datetime, actor: Principal,
                          connector: Connector | None = None) -> CheckIn:
    """Resolve the mention and schedule a check-in reply ``body`` for ``due_at`` (sent after approval).

    All or nothing: the status change, the draft and the check-in commit in one transaction. The body
    is checked now as far as it can be, not days later at approval: an unfilled slot such as
    "[order number]" always, and with the mention's ``connector`` everything a reply is checked for
    before sending (its platform takes replies to it, its length).
    """
    from monitor import replies, triage

    require(actor, Role.AGENT, "scheduling a check-in")
    due_at = in_utc(due_at, "the check-in date", FollowUpError)
    if due_at <= utcnow():
        raise FollowUpError("the check-in date must be a future time with a time zone")
    if not body.strip():
        raise FollowUpError("a check-in reply cannot be empty")
    check_storable(body, "the check-in reply", FollowUpError)
    check_filled(body)
    resolved = MentionStatus.RESOLVED.value
    with db.write() as session:
        mention = session.get(Mention, mention_id)
        if mention is None:
            raise NotFound(f"mention {mention_id} not found")
        if connector is not None:
            replies.check_replyable(mention, connector, body)
        if mention.status != resolved and (why_not := triage.change_status(session, mention, resolved, actor)):
            raise FollowUpError(f"mention {mention_id} cannot be resolved: {why_not}")
        reply = replies.add_draft(session, mention_id, body, actor)
        check_in = CheckIn(mention_id=mention_id, reply_id=reply.id, state=CheckInState.SCHEDULED.value, due_at=due_at,
                           scheduled_by=actor.name, created_at=utcnow())
        session.add(check_in)
        session.flush()
        audit.record(session, actor.name, "check_in.schedule", mention_id, check_in_id=check_in.id,
                     due_at=due_at.isoformat())
        return check_in


@dataclass(frozen=True)
class CheckInItem:
    check_in: CheckIn
    mention: Mention
    reply: Reply


def check_ins(db: Database, states: tuple[str, ...] = (CheckInState.DUE.value,), limit: int = 100) -> list[CheckInItem]:
    with db.read() as session:
        rows = session.execute(
            select(CheckIn, Mention, Reply).join(Mention, Mention.id == CheckIn.mention_id)
            .join(Reply, Reply.id == CheckIn.reply_id).where(CheckIn.state.in_(states))
            .order_by(CheckIn.due_at, CheckIn.id).limit(limit)
        ).all()
        return [CheckInItem(c, m, r) for c, m, r in rows]


def approve_check_in(db: Database, check_in_id: int, connector: Connector, actor: Principal) -> Reply:
    """An agent's go-ahead: post the check-in as a follow-up to the mention's earlier reply.

    The send moves the check-in from due to sending in the reply's own claim (a conditional UPDATE,
    see :mod:`monitor.replies`), so a colleague's cancel since the check below stops it, and a send
    refused before anything went out leaves the check-in due."""
    from monitor import presence

    require(actor, Role.AGENT, "approving a check-in")
    with db.read() as session:
        check_in = session.get(CheckIn, check_in_id)
        if check_in is None:
            raise NotFound(f"check-in {check_in_id} not found")
        if check_in.state != CheckInState.DUE.value:
            raise FollowUpError(f"check-in {check_in_id} is {check_in.state}; only a due check-in can be approved")
        # The reply that answered the mention so far: the check-in follows up on it knowingly.
        answer = presence.answer_so_far(session, check_in.mention_id, other_than=check_in.reply_id)
        earlier = answer.id if answer is not None else None
        reply_id = check_in.reply_id
    return presence.send_reply_once(db, reply_id, connector, actor, follow_up_of=earlier)


def cancel_check_in(db: Database, check_in_id: int, actor: Principal) -> None:
    """Cancel a scheduled or due check-in and its draft. Both are conditional UPDATEs, so a send that
    claimed them first makes this a refusal, and one that comes later finds nothing to send."""
    require(actor, Role.AGENT, "cancelling a check-in")
    with db.write() as session:
        check_in = session.get(CheckIn, check_in_id)
        if check_in is None:
            raise NotFound(f"check-in {check_in_id} not found")
        cancelled = session.execute(
            update(CheckIn).where(CheckIn.id == check_in_id, CheckIn.state.in_(_CANCELLABLE))
            .values(state=CheckInState.CANCELLED.value)).rowcount
        if not cancelled:
            state = session.scalar(select(CheckIn.state).where(CheckIn.id == check_in_id))
            raise FollowUpError(f"check-in {check_in_id} is {state} and cannot be cancelled")
        retired = session.execute(
            update(Reply).where(Reply.id == check_in.reply_id, Reply.state.in_(UNSENT))  # a failed one too
            .values(state=ReplyState.CANCELLED.value, updated_at=utcnow())).rowcount
        if not retired:  # a check-in left due by a send from before the two moved together
            raise FollowUpError(f"check-in {check_in_id}'s reply is being sent or was sent; it cannot be cancelled")
        audit.record(session, actor.name, "check_in.cancel", check_in.mention_id, check_in_id=check_in_id,
                     reply_id=check_in.reply_id)


def default_due(settings: CheckInSettings, now: datetime | None = None) -> datetime:
    return (now or utcnow()) + timedelta(days=settings.after_days)


__all__ = ["CheckInItem", "CheckInSettings", "DueWork", "FollowUpError", "approve_check_in", "cancel_check_in",
           "check_ins", "clear_follow_up", "default_due", "pending_follow_up", "resolve_with_check_in", "run_due",
           "set_follow_up"]
