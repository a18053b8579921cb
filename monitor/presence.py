"""Who else is on a mention, and the one reply that answers it.

Presence: each dashboard session heartbeats a (mention, user, activity) row while it shows or
drafts a reply to a mention; rows older than the TTL are ignored, so a closed tab drops out on its own.

Reply claims: before a reply is posted, :func:`send_reply_once` makes it *the* reply of its mention
with a conditional write. Two people replying at once, a double click, a rerun or a retry after a
timeout therefore post at most once: the loser is told who replied and must confirm explicitly
(naming the reply they saw) to post a follow-up.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from connectors.base import Connector
from monitor import audit, replies
from monitor.access import Principal, Role, require
from monitor.errors import MentiondeskError, NotFound, ReplyError, ReplyStateError
from monitor.models import Mention, Presence, Reply, ReplyClaim, ReplyState, utcnow
from monitor.storage import Database

PRESENCE_TTL = timedelta(seconds=45)
# Replies that reached the platform, or may have. A claimed reply that failed, or was cancelled with
# its check-in, did not, so someone else may take its claim over; a reply sent before it still
# answers the mention.
_ANSWERING = (ReplyState.SENDING.value, ReplyState.SENT.value)


class Activity(str, enum.Enum):
    VIEWING = "viewing"
    DRAFTING = "drafting"


class ReplyCollision(ReplyError):
    """Someone else's reply to this mention is being sent or was sent."""

    def __init__(self, message: str, other_reply_id: int) -> None:
        super().__init__(message)
        self.other_reply_id = other_reply_id


@dataclass(frozen=True)
class Present:
    user: str
    activity: str
    seen_at: datetime


def touch(db: Database, mention_id: int, user: str, activity: Activity) -> None:
    """Heartbeat: ``user`` is viewing or drafting ``mention_id`` now."""
    dialect = sqlite if db.is_sqlite else postgresql
    now = utcnow()
    statement = dialect.insert(Presence).values(mention_id=mention_id, user=user, activity=activity.value, seen_at=now)
    statement = statement.on_conflict_do_update(index_elements=[Presence.mention_id, Presence.user],
                                                set_={"activity": activity.value, "seen_at": now})
    with db.write() as session:
        session.execute(statement)


def leave(db: Database, user: str, mention_id: int | None = None) -> None:
    """``user`` left ``mention_id`` (or every mention)."""
    with db.write() as session:
        query = delete(Presence).where(Presence.user == user)
        if mention_id is not None:
            query = query.where(Presence.mention_id == mention_id)
        session.execute(query)


def others(session: Session, mention_id: int, user: str, now: datetime | None = None,
           ttl: timedelta = PRESENCE_TTL) -> list[Present]:
    now = now or utcnow()
    rows = session.scalars(
        select(Presence).where(Presence.mention_id == mention_id, Presence.user != user, Presence.seen_at >= now - ttl)
        .order_by(Presence.user)
    )
    return [Present(p.user, p.activity, p.seen_at) for p in rows]


def answer_so_far(session: Session, mention_id: int, other_than: int) -> Reply | None:
    """The newest reply, other than ``other_than``, that answers the mention: one sending or sent, or
    the claimed draft (about to be sent: send_reply moves it to sending, or its claim is released).
    A sender must have read it (``follow_up_of``) to post another."""
    answering = Reply.state.in_(_ANSWERING)
    claim = session.get(ReplyClaim, mention_id)
    if claim is not None:
        answering |= (Reply.id == claim.reply_id) & (Reply.state == ReplyState.DRAFT.value)
    return session.scalar(select(Reply).where(Reply.mention_id == mention_id, Reply.id != other_than, answering)
                          .order_by(Reply.id.desc()).limit(1))


def collision_with(held: Reply) -> ReplyCollision:
    """The refusal of a reply whose sender has not read ``held``, the reply that answers the mention so far."""
    verb = "has already replied" if held.state == ReplyState.SENT.value else "is sending a reply right now"
    return ReplyCollision(f"{held.author} {verb} to this mention; read it before sending another", held.id)


def _claim(db: Database, reply_id: int, connector: Connector, actor: Principal, follow_up_of: int | None) -> None:
    with db.write() as session:
        reply = session.get(Reply, reply_id)
        if reply is None:
            raise NotFound(f"reply {reply_id} not found")
        mention = session.get(Mention, reply.mention_id)
        if mention is None:
            raise NotFound(f"mention {reply.mention_id} not found")
        replies.check_replyable(mention, connector, reply.body)
        claim = session.get(ReplyClaim, mention.id, with_for_update=True)
        if claim is not None and claim.reply_id == reply_id:
            return  # ours already; send_reply's own claim stops a second post of it
        held = answer_so_far(session, mention.id, other_than=reply_id)
        if held is not None and follow_up_of != held.id:
            raise collision_with(held)
        if claim is None:
            session.execute(insert(ReplyClaim).values(mention_id=mention.id, reply_id=reply_id, actor=actor.name, claimed_at=utcnow()))
            return
        taken = session.execute(
            update(ReplyClaim).where(ReplyClaim.mention_id == mention.id, ReplyClaim.reply_id == claim.reply_id)
            .values(reply_id=reply_id, actor=actor.name, claimed_at=utcnow())
        ).rowcount
        if not taken:
            raise ReplyCollision("someone else claimed this mention's reply a moment ago", claim.reply_id)
        audit.record(session, actor.name, "reply.claim", mention.id, reply_id=reply_id, replaces=claim.reply_id)


def send_reply_once(db: Database, reply_id: int, connector: Connector, actor: Principal,
                    follow_up_of: int | None = None) -> Reply:
    """Claim the mention for this reply, then post it through :func:`monitor.replies.send_reply`.

    Raises :class:`ReplyCollision` when another reply to the mention is sending or sent (unless
    ``follow_up_of`` names it: the user saw it and still wants to send theirs), ``ReplyStateError``
    when this reply was already sent or is sending, and ``ReplyError`` when the platform would refuse it.
    """
    require(actor, Role.AGENT, "sending a reply")
    try:
        _claim(db, reply_id, connector, actor, follow_up_of)
    except IntegrityError:
        # PostgreSQL: two first claims raced and the other insert won.
        with db.read() as session:
            winner = session.scalar(select(ReplyClaim.reply_id).join(Reply, Reply.mention_id == ReplyClaim.mention_id)
                                    .where(Reply.id == reply_id))
        raise ReplyCollision("someone else is sending a reply to this mention right now", winner or 0) from None
    try:
        return replies.send_reply(db, reply_id, connector, actor)
    except ReplyStateError:
        raise  # sending or sent: the claim stands
    except MentiondeskError:
        _release(db, reply_id)  # refused before anything went out
        raise


def _release(db: Database, reply_id: int) -> None:
    with db.write() as session:
        draft = session.scalar(select(Reply.id).where(Reply.id == reply_id, Reply.state == ReplyState.DRAFT.value))
        if draft is not None:
            session.execute(delete(ReplyClaim).where(ReplyClaim.reply_id == reply_id))


__all__ = ["Activity", "PRESENCE_TTL", "Present", "ReplyCollision", "answer_so_far", "collision_with", "leave",
           "others", "send_reply_once", "touch"]
