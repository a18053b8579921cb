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
  A mention has one check-in under way at a time: a second one would ask the customer twice.

Every status change here locks the mention first (as :mod:`monitor.triage` does), so a teammate's
change that lands meanwhile is seen, not written over.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from connectors.base import Connector
from monitor import audit, presence
from monitor.access import APPROVER, Principal, Role, require
from monitor.config import CheckInSettings
from monitor.errors import MentiondeskError, NotFound
from monitor.ingest import check_storable, in_utc
from monitor.models import (CheckIn, CheckInState, FollowUp, Mention, MentionStatus, Reply, ReplyApproval, ReplyState,
                            utcnow)
from monitor.replies import UNSENT
from monitor.storage import Database
from monitor.templates import check_filled

_OPEN_WORK = (MentionStatus.NEW.value, MentionStatus.OPEN.value, MentionStatus.PENDING.value)
_CANCELLABLE = (CheckInState.SCHEDULED.value, CheckInState.DUE.value)
# A check-in that can still reach the customer.
_UNDER_WAY = (CheckInState.SCHEDULED.value, CheckInState.DUE.value, CheckInState.SENDING.value)
# The most check-ins `check_ins` lists by default (each is a card with its own buttons on the Incidents page).
CHECK_INS_LISTED = 100


class FollowUpError(MentiondeskError):
    """A follow-up or check-in that cannot be set, approved or cancelled as asked."""


class CheckInUnderWay(FollowUpError):
    """The mention already has a check-in scheduled, due or being sent."""


class AskedAlready(presence.ReplyCollision):
    """Another check-in asked the customer since this one was scheduled: no acknowledgement sends this one."""


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
        mention = _locked_mention(session, mention_id)
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


def _locked_mention(session: Session, mention_id: int) -> Mention:
    """The mention, locked for the write and read afresh, so its status is what this write changes."""
    mention = session.get(Mention, mention_id, with_for_update=True, populate_existing=True)
    if mention is None:
        raise NotFound(f"mention {mention_id} not found")
    return mention


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
    is_due = (FollowUp.done_at.is_(None), FollowUp.due_at <= now)
    with db.write() as session:
        # The mentions locked before their follow-ups, in the order set_follow_up takes them.
        mentions = {m.id: m for m in session.scalars(
            select(Mention).where(Mention.id.in_(select(FollowUp.mention_id).where(*is_due)))
            .order_by(Mention.id).with_for_update())}
        due = session.scalars(select(FollowUp).where(FollowUp.mention_id.in_(mentions), *is_due)
                              .order_by(FollowUp.mention_id).with_for_update())
        for follow_up in due:
            mention = mentions[follow_up.mention_id]
            follow_up.done_at = now
            # Someone already took it up (open, resolved…): the date has done its job.
            if mention.status == MentionStatus.PENDING.value:
                mention.status = MentionStatus.OPEN.value
                audit.record(session, audit.SYSTEM_ACTOR, "follow_up.due", mention.id,
                             before=MentionStatus.PENDING.value, after=MentionStatus.OPEN.value,
                             set_by=follow_up.set_by)
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
        mention = _locked_mention(session, mention_id)  # a second resolve waits, then sees this check-in
        if connector is not None:
            replies.check_replyable(mention, connector, body)
        if (under_way := _under_way(session, mention_id)) is not None:
            raise CheckInUnderWay(
                f"mention {mention_id} already has check-in {under_way.id} ({under_way.state}, due "
                f"{under_way.due_at:%Y-%m-%d %H:%M} UTC, scheduled by {under_way.scheduled_by}); a second would "
                "ask the customer twice: cancel that one first")
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


def check_ins(db: Database, states: tuple[str, ...] = (CheckInState.DUE.value,),
              limit: int = CHECK_INS_LISTED) -> list[CheckInItem]:
    """The first ``limit`` check-ins in ``states``, soonest due first (:func:`count_check_ins` counts them all)."""
    with db.read() as session:
        rows = session.execute(
            select(CheckIn, Mention, Reply).join(Mention, Mention.id == CheckIn.mention_id)
            .join(Reply, Reply.id == CheckIn.reply_id).where(CheckIn.state.in_(states))
            .order_by(CheckIn.due_at, CheckIn.id).limit(limit)
        ).all()
        return [CheckInItem(c, m, r) for c, m, r in rows]


def check_in_under_way(db: Database, mention_id: int) -> CheckIn | None:
    """The mention's check-in that can still reach the customer (scheduled, due or being sent), if any."""
    with db.read() as session:
        return _under_way(session, mention_id)


def _under_way(session: Session, mention_id: int) -> CheckIn | None:
    return session.scalar(select(CheckIn).where(CheckIn.mention_id == mention_id, CheckIn.state.in_(_UNDER_WAY))
                          .order_by(CheckIn.id).limit(1))


def count_check_ins(db: Database, states: tuple[str, ...] = (CheckInState.DUE.value,)) -> int:
    with db.read() as session:
        return session.scalar(select(func.count()).select_from(CheckIn).where(CheckIn.state.in_(states))) or 0


def approve_check_in(db: Database, check_in_id: int, connector: Connector, actor: Principal,
                     follow_up_of: int | None = None) -> Reply:
    """An agent's go-ahead: post the check-in as a follow-up to the mention's earlier reply.

    The send moves the check-in from due to sending in the reply's own claim (a conditional UPDATE,
    see :mod:`monitor.replies`), so a colleague's cancel since the check below stops it, and a send
    refused before anything went out leaves the check-in due. On a brand that requires approval, an
    approver's go-ahead here is the reply's approval too (never its own author's: that send is refused).

    Only a reply sent before the check-in was scheduled is what it follows up on. Raises
    :class:`AskedAlready` when another check-in to the mention went out, or is going out, since then
    (the customer has been asked already: cancel this one), and ReplyCollision when any other reply
    did, unless ``follow_up_of`` names the reply that collision named (the approver read it), as for
    any reply (see :func:`monitor.presence.send_reply_once`)."""
    from monitor import replies

    require(actor, Role.AGENT, "approving a check-in")
    with db.read() as session:
        check_in = session.get(CheckIn, check_in_id)
        if check_in is None:
            raise NotFound(f"check-in {check_in_id} not found")
        if check_in.state != CheckInState.DUE.value:
            raise FollowUpError(f"check-in {check_in_id} is {check_in.state}; only a due check-in can be approved")
        asked = _asked_since(session, check_in)
        if asked is not None:
            other, answer = asked
            raise AskedAlready(f"check-in {other} by {answer.author} asked this customer already ({answer.state}) "
                               "after this one was scheduled; cancel this one", answer.id)
        answer = presence.answer_so_far(session, check_in.mention_id, other_than=check_in.reply_id)
        if answer is not None and not _sent_before(answer, check_in) and follow_up_of != answer.id:
            raise presence.collision_with(answer)
        reply = session.get_one(Reply, check_in.reply_id)
        # The approval the reply still waits for, where this actor may give it.
        approves = (actor.has(APPROVER) and reply.author != actor.name and session.get(ReplyApproval, reply.id) is None
                    and replies.needs_approval(session, session.get_one(Mention, check_in.mention_id)))
    if approves:
        replies.approve_reply(db, reply.id, actor)
    # The reply claim checks again what answers the mention as it is taken: one since this check refuses the send.
    return presence.send_reply_once(db, reply.id, connector, actor, follow_up_of=answer.id if answer else None)


def _sent_before(reply: Reply, check_in: CheckIn) -> bool:
    """Whether ``reply`` went out before ``check_in`` was scheduled: whoever scheduled it could read it."""
    return reply.sent_at is not None and reply.sent_at < check_in.created_at


def _asked_since(session: Session, check_in: CheckIn) -> tuple[int, Reply] | None:
    """Another check-in to the mention, with its reply, that went out or is going out since ``check_in`` was
    scheduled; any of them, not only the newest reply (two check-ins stored before one-at-a-time)."""
    row = session.execute(
        select(CheckIn.id, Reply).join(Reply, Reply.id == CheckIn.reply_id)
        .where(CheckIn.mention_id == check_in.mention_id, CheckIn.id != check_in.id,
               Reply.state.in_((ReplyState.SENDING.value, ReplyState.SENT.value)),
               or_(Reply.sent_at.is_(None), Reply.sent_at >= check_in.created_at))
        .order_by(Reply.id.desc()).limit(1)).first()
    return (row[0], row[1]) if row is not None else None


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


__all__ = ["AskedAlready", "CHECK_INS_LISTED", "CheckInItem", "CheckInSettings", "CheckInUnderWay", "DueWork",
           "FollowUpError", "approve_check_in", "cancel_check_in", "check_in_under_way", "check_ins", "clear_follow_up",
           "count_check_ins", "default_due", "pending_follow_up", "resolve_with_check_in", "run_due", "set_follow_up"]
