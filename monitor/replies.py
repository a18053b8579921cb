"""Replies flow back through the connector that fetched the mention, never twice.

State machine: draft → sending → sent | failed, and failed → sending on a retry. The move to
``sending`` is one conditional UPDATE, so of two clicks, reruns or workers only one wins and posts.
A reply whose outcome is unknown (the request went out, no answer or no readable one came back, or
its sender died mid-request) stays in ``sending`` until a person checks the platform and calls
:func:`resolve_unknown`; a reply still being sent cannot be resolved. A bulk reply may re-send such a
reply under its idempotency key (:func:`reopen_unknown`); a refusal of that re-send posted nothing this
time but the earlier send may have posted, so it leaves the reply unknown, never plainly failed. A
send's outcome is recorded only while the reply is still in the attempt that send claimed: one that
outlived :data:`SENDER_GONE_AFTER` and finds it resolved (or sent again) meanwhile only leaves an audit
entry.

On a brand with ``reply_approval = true`` a reply is sent only after someone with the approver role
(:data:`monitor.access.APPROVER`) other than its author approved that draft (:func:`approve_reply`);
the body cannot change after drafting, so the approval covers exactly what is posted. There a new
draft replaces its author's earlier drafts to the mention (:func:`draft_reply` cancels them), and an
author may withdraw a draft (:func:`withdraw_draft`): a cancelled draft is never approved nor sent.

A mention of a competitor brand is never answered (:func:`check_ours`): a reply would answer their
customer from our account.

A check-in's reply (:mod:`monitor.followups`) is sent only while its check-in is due: the claim moves
the check-in to ``sending`` with the reply, and the reply's outcome moves it on (sent, or due again
after a failure), also when a person resolves an unknown outcome. Cancelling the check-in cancels
its draft.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, exists, select, update
from sqlalchemy.orm import Session

from connectors.base import (BadPayload, Connector, ConnectorError, DeliveryUnknown, RateLimited, ReplyNotAllowed,
                             ReplyTarget)
from monitor import audit
from monitor.access import APPROVER, Principal, Role, require
from monitor.errors import NotFound, ReplyError, ReplyStateError
from monitor.models import AuditEntry, Brand, CheckIn, CheckInState, Mention, Reply, ReplyApproval, ReplyState, utcnow
from monitor.redact import mask
from monitor.templates import ReplyMeasure, ReplyTooLong, check_filled, check_length, measure
from monitor.storage import Database
from monitor.workers import new_worker_id, worker_has_exited

# Not on its way: a draft, or a failed send (retryable).
UNSENT = (ReplyState.DRAFT.value, ReplyState.FAILED.value)
# A reply in ``sending`` with no outcome recorded this long after its send began lost its sender (a
# crash, a kill -9): connectors give up on a request long before (30 s by default), so its outcome is
# unknown and a person may check the platform.
SENDER_GONE_AFTER = timedelta(minutes=10)
# Why a reply whose sender died mid-request needs a check (no error was recorded for it).
CUT_OFF = "cut off while sending; it may have been posted: check the thread"


class ApprovalRequired(ReplyError):
    """The mention's brand requires an approver's go-ahead for this reply first."""


class CheckInNotDue(ReplyError):
    """The reply is a check-in's, and the check-in is not due (not yet, or cancelled, or sent)."""


class ReplyWithdrawn(ReplyStateError):
    """The draft was cancelled (withdrawn, replaced by a newer draft, or with its check-in): it is never sent."""


class CompetitorMention(ReplyError):
    """The mention is about a competitor brand: its customers are not ours to answer."""


def _mention(session: Session, mention_id: int) -> Mention:
    mention = session.get(Mention, mention_id)
    if mention is None:
        raise NotFound(f"mention {mention_id} not found")
    return mention


def check_replyable(mention: Mention, connector: Connector, body: str) -> None:
    caps = connector.capabilities
    if connector.name != mention.platform:
        raise ReplyError(f"mention {mention.id} is from {mention.platform}, not {connector.name}")
    if not caps.can_reply:
        raise ReplyError(f"{connector.name} cannot post replies; open the original post instead")
    if (why_not := why_not_replyable(mention, connector)) is not None:
        raise ReplyError(why_not)
    if not body.strip():
        raise ReplyError("a reply cannot be empty")
    check_filled(body)
    prefix = connector.reply_prefix(reply_target(mention), body)
    try:
        check_length(caps, mention.platform, prefix + body)
    except ReplyTooLong as exc:
        if not prefix:
            raise
        raise ReplyTooLong(f"{exc}, counting the {prefix.strip()!r} it is posted with") from None


def why_not_replyable(mention: Mention, connector: Connector) -> str | None:
    """Why no reply to this stored mention can go out, whatever its text; None where one may. A mention stored
    not replyable is refused where what was stored settles it (X's rule here, the rest by the connector's
    ``why_not_replyable``); beyond that its connector decides as it sends (Reddit answers a post read before
    its account was set up, Bluesky reads the threadgate again)."""
    if mention.replyable:
        return None
    if connector.capabilities.reply_needs_direct_mention:
        return f"{not_directly_mentioned(connector.name)}, so open the original post to answer it"
    return connector.why_not_replyable(reply_target(mention))


def not_directly_mentioned(platform: str) -> str:
    """Why a platform that answers only direct mentions (X self-serve) refuses this one. Replyable is decided
    as the post is read: one read before the brand's handle was configured could not be checked against it."""
    return (f"{platform} only allows replies to posts that @mention or quote the brand account; this one was not "
            f"read as one (it matched a keyword, or was read before the brand's {platform} handle was configured)")


def measured(connector: Connector, mention: Mention, body: str) -> ReplyMeasure:
    """``body``'s length (and size) as the platform counts it against its limits: with what the connector puts
    in front of it (Mastodon's @acct), as :func:`check_replyable` counts it."""
    return measure(connector.capabilities, connector.reply_prefix(reply_target(mention), body) + body)


def competitor_of(session: Session, mention: Mention) -> str | None:
    """The name of the competitor brand the mention is about, or None where it is ours (or has no brand)."""
    if mention.brand_id is None:
        return None
    return session.scalar(select(Brand.name).where(Brand.id == mention.brand_id, Brand.competitor.is_(True)))


def check_ours(session: Session, mention: Mention) -> None:
    """Refuse a reply to a competitor brand's mention: it would answer their customer from our account (and a
    template would sign it with their name). Checked as a reply is drafted and again as it is sent."""
    if (competitor := competitor_of(session, mention)) is not None:
        raise CompetitorMention(f"mention {mention.id} is about {competitor}, a competitor brand: "
                                "its customers are not ours to answer")


def reply_target(mention: Mention) -> ReplyTarget:
    """What the connector is told of the mention it replies to."""
    return ReplyTarget(mention.platform, mention.external_id, mention.replyable, mention.thread_id, mention.raw)


def draft_reply(db: Database, mention_id: int, body: str, author: Principal, idempotency_key: str | None = None) -> Reply:
    """A new draft. Where replies wait for approval, one typed in the reply box replaces the author's earlier
    drafts to the mention (a corrected text): those are cancelled in the same transaction, so none is left to be
    approved and posted (a check-in's draft stays). Elsewhere a draft is sent at once by its author and waits in
    no list. ``idempotency_key``: a caller that may run again (a bulk reply) names its reply, so a rerun finds
    it; such a draft replaces nothing (a template sent to a whole incident does not correct an agent's own
    reply, approved perhaps, to one of its mentions)."""
    require(author, Role.AGENT, "drafting a reply")
    with db.write() as session:
        reply = add_draft(session, mention_id, body, author, idempotency_key)
        if idempotency_key is not None or not needs_approval(session, _mention(session, mention_id)):
            return reply
        # Conditional: a draft an approver locked first is cancelled once they commit (its send then
        # finds it cancelled); one already claimed for sending is left to its send. A check-in's draft
        # goes only with its check-in (monitor.followups).
        replaced = session.scalars(
            update(Reply).where(Reply.mention_id == mention_id, Reply.author == author.name, Reply.id != reply.id,
                                Reply.state == ReplyState.DRAFT.value, ~exists().where(CheckIn.reply_id == Reply.id))
            .values(state=ReplyState.CANCELLED.value, updated_at=utcnow()).returning(Reply.id)).all()
        for earlier in replaced:
            audit.record(session, author.name, "reply.replaced", mention_id, reply_id=earlier, by_reply_id=reply.id)
        return reply


def add_draft(session: Session, mention_id: int, body: str, author: Principal,
              idempotency_key: str | None = None) -> Reply:
    """A draft within a caller's transaction (a check-in drafts its reply as it resolves the mention);
    refused for a competitor brand's mention."""
    check_ours(session, _mention(session, mention_id))
    reply = Reply(mention_id=mention_id, body=body, author=author.name, state=ReplyState.DRAFT.value,
                  idempotency_key=idempotency_key or uuid.uuid4().hex, attempts=0)
    session.add(reply)
    session.flush()
    audit.record(session, author.name, "reply.draft", mention_id, reply_id=reply.id)
    return reply


def needs_approval(session: Session, mention: Mention) -> bool:
    """Whether replies to this mention need an approver (its brand's ``reply_approval``)."""
    return mention.brand_id is not None and bool(
        session.scalar(select(Brand.reply_approval).where(Brand.id == mention.brand_id)))


def drafts_for_approval(session: Session, mention_id: int) -> list[tuple[Reply, ReplyApproval | None]]:
    """Unsent drafts to this mention with their approval so far (empty unless its brand requires approval).
    A check-in's draft is listed once its check-in is due: it cannot be sent before."""
    mention = _mention(session, mention_id)
    if not needs_approval(session, mention):
        return []
    not_due = exists().where(CheckIn.reply_id == Reply.id, CheckIn.state != CheckInState.DUE.value)
    return [(reply, approval) for reply, approval in session.execute(
        select(Reply, ReplyApproval).outerjoin(ReplyApproval, ReplyApproval.reply_id == Reply.id)
        .where(Reply.mention_id == mention_id, Reply.state == ReplyState.DRAFT.value, ~not_due).order_by(Reply.id))]


def approve_reply(db: Database, reply_id: int, approver: Principal) -> ReplyApproval:
    """An approver's go-ahead for a draft; never its own author's."""
    require(approver, APPROVER, "approving a reply")
    with db.write() as session:
        # Locked: a second approver at once waits here, then finds this approval and returns it.
        reply = session.get(Reply, reply_id, with_for_update=True, populate_existing=True)
        if reply is None:
            raise NotFound(f"reply {reply_id} not found")
        if reply.state != ReplyState.DRAFT.value:
            raise _not_a_draft(reply, "approved")
        if reply.author == approver.name:
            raise ReplyError("a reply needs approval by someone other than its author")
        existing = session.get(ReplyApproval, reply_id)
        if existing is not None:
            return existing
        approval = ReplyApproval(reply_id=reply_id, approver=approver.name, approved_at=utcnow())
        session.add(approval)
        audit.record(session, approver.name, "reply.approve", reply.mention_id, reply_id=reply_id, author=reply.author)
        return approval


def withdraw_draft(db: Database, reply_id: int, author: Principal) -> None:
    """The author takes back a draft of theirs (approved or not) before it is sent: it is cancelled, never sent.
    A check-in's draft goes with its check-in (:func:`monitor.followups.cancel_check_in`)."""
    require(author, Role.AGENT, "withdrawing a reply")
    with db.write() as session:
        # Locked: an approval or a send waits, then finds it cancelled; one that came first makes this a refusal.
        reply = _locked_reply(session, reply_id)
        if reply.author != author.name:
            raise ReplyError(f"reply {reply_id} is {reply.author}'s; only its author can withdraw it")
        if reply.state != ReplyState.DRAFT.value:
            raise _not_a_draft(reply, "withdrawn")
        if (check_in_id := check_in_of(session, reply_id)) is not None:
            raise ReplyError(f"reply {reply_id} is check-in {check_in_id}'s reply: cancel the check-in instead")
        reply.state, reply.updated_at = ReplyState.CANCELLED.value, utcnow()
        audit.record(session, author.name, "reply.withdraw", reply.mention_id, reply_id=reply_id)


def check_in_of(session: Session, reply_id: int) -> int | None:
    """The id of the check-in this reply is the reply of, if it is one's."""
    return session.scalar(select(CheckIn.id).where(CheckIn.reply_id == reply_id))


def _withdrawn(reply_id: int, what_then: str) -> ReplyWithdrawn:
    return ReplyWithdrawn(f"reply {reply_id} is cancelled (withdrawn or replaced by a newer draft by its author, "
                          f"or cancelled with its check-in); {what_then}")


def _not_a_draft(reply: Reply, action: str) -> ReplyStateError:
    """Why ``reply`` cannot be ``action`` ("approved", "withdrawn"): it is no longer a draft."""
    if reply.state == ReplyState.CANCELLED.value:
        return _withdrawn(reply.id, f"only a draft can be {action}, and it will never be sent")
    return ReplyStateError(f"reply {reply.id} is {reply.state}; only a draft can be {action}")


def send_reply(db: Database, reply_id: int, connector: Connector, actor: Principal) -> Reply:
    """Post a draft (or retry a failed reply). Raises ReplyStateError if it is not ours to send (ReplyWithdrawn
    for a cancelled draft), CompetitorMention for a competitor brand's mention, and ApprovalRequired if its
    brand requires approval and nobody has approved it yet."""
    require(actor, Role.AGENT, "sending a reply")
    with db.write() as session:
        reply = session.get(Reply, reply_id)
        if reply is None:
            raise NotFound(f"reply {reply_id} not found")
        mention = _mention(session, reply.mention_id)
        check_replyable(mention, connector, reply.body)
        check_ours(session, mention)  # the brand may have been marked competitor since it was drafted
        _check_in_sending(session, reply_id, actor)  # undone with the rest if a check below refuses
        if reply.state == ReplyState.CANCELLED.value:  # a check-in's was refused just above, naming its check-in
            raise _withdrawn(reply_id, "it will never be sent")
        if needs_approval(session, mention) and session.get(ReplyApproval, reply_id) is None:
            raise ApprovalRequired(f"reply {reply_id} waits for approval: this brand's replies need an approver "
                                   f"({APPROVER.value}) other than their author; it is kept as a draft")
        # This send's attempt number: its outcome is recorded only while the reply is still in it.
        attempt = session.scalar(
            update(Reply)
            .where(Reply.id == reply_id, Reply.state.in_(UNSENT))
            .values(state=ReplyState.SENDING.value, attempts=Reply.attempts + 1, updated_at=utcnow(), error=None)
            .returning(Reply.attempts),
            execution_options={"synchronize_session": False},  # the state read below is the row's, not this claim's
        )
        if attempt is None:
            # Changed since it was read above (PostgreSQL reads without a lock): sent or being sent by another
            # click, or withdrawn or replaced by its author meanwhile, which is no "already sent".
            session.refresh(reply)
            if reply.state == ReplyState.CANCELLED.value:
                raise _withdrawn(reply_id, "it will never be sent")
            raise ReplyStateError(f"reply {reply_id} is {reply.state}; it will not be sent again")
        # Only a reply sent before can be re-sending one that may have posted (reopen_unknown): a first send
        # reads none of the audit log. Read before this send's entry.
        resent = _unknown_so_far(session, reply) if attempt > 1 else None
        # The sending process, so a later run on its host can tell a send cut off by a crash from one under way.
        audit.record(session, actor.name, "reply.send", mention.id, reply_id=reply_id, sender=new_worker_id())
        target = reply_target(mention)
        body, key = reply.body, reply.idempotency_key

    # The platform call happens outside any transaction: the claim above is already committed.
    # Its error is shown to every signed-in user and exported with the audit log, and client libraries' error
    # texts can quote a URL or header that holds the connector's secret.
    secrets = connector.secrets.values()
    try:
        posted = connector.reply(target, body, key)
    except (DeliveryUnknown, BadPayload) as exc:  # an answer we cannot read still came after the request
        return _finish_unknown(db, reply_id, attempt, actor, mask(str(exc), secrets))
    except (ReplyNotAllowed, ConnectorError) as exc:
        error = mask(str(exc), secrets)
        if resent is not None:  # nothing posted this time, but the send it re-sent may have posted
            retry_at = utcnow() + timedelta(seconds=exc.retry_after) if isinstance(exc, RateLimited) else None
            return _finish_unknown(db, reply_id, attempt, actor, error, resent, retry_at)
        return _finish(db, reply_id, attempt, actor, ReplyState.FAILED, error=error)
    except Exception as exc:  # timeouts and crashes: it may have posted, so never auto-retry
        return _finish_unknown(db, reply_id, attempt, actor, mask(f"{exc.__class__.__name__}: {exc}", secrets))
    return _finish(db, reply_id, attempt, actor, ReplyState.SENT, external_id=posted.external_id, url=posted.url)


def _check_in_sending(session: Session, reply_id: int, actor: Principal) -> None:
    """A check-in's reply is sent only while its check-in is due; the check-in moves to sending in the
    same conditional UPDATE, so a colleague's cancel either came first and stops this send, or is refused."""
    moved = session.scalar(
        update(CheckIn).where(CheckIn.reply_id == reply_id, CheckIn.state == CheckInState.DUE.value)
        .values(state=CheckInState.SENDING.value, approved_by=actor.name).returning(CheckIn.id))
    if moved is not None:
        return
    check_in = session.execute(select(CheckIn.id, CheckIn.state).where(CheckIn.reply_id == reply_id)).first()
    if check_in is not None:
        raise CheckInNotDue(f"reply {reply_id} is the reply of check-in {check_in.id}, which is {check_in.state}; "
                            "it is sent only while its check-in is due")


def _check_in_follows(session: Session, reply: Reply, state: ReplyState, actor: Principal) -> None:
    """A check-in being sent follows its reply's outcome: sent, or due again after a failure (to retry or cancel)."""
    after = CheckInState.SENT if state is ReplyState.SENT else CheckInState.DUE
    check_in_id = session.scalar(
        update(CheckIn).where(CheckIn.reply_id == reply.id, CheckIn.state == CheckInState.SENDING.value)
        .values(state=after.value).returning(CheckIn.id))
    if check_in_id is not None and after is CheckInState.SENT:
        audit.record(session, actor.name, "check_in.sent", reply.mention_id, check_in_id=check_in_id, reply_id=reply.id)


def _locked_reply(session: Session, reply_id: int) -> Reply:
    """The reply, locked against its sender and a person resolving it at once."""
    reply = session.get(Reply, reply_id, with_for_update=True)
    if reply is None:
        raise NotFound(f"reply {reply_id} not found")
    return reply


def _still_ours(session: Session, reply: Reply, attempt: int, actor: Principal, outcome: str,
                error: str | None, external_id: str | None = None) -> bool:
    """Whether the reply is still in the send attempt this sender claimed. A send that outlived
    SENDER_GONE_AFTER may find a person resolved it meanwhile (and perhaps sent it again): its late
    outcome then changes nothing and only goes to the audit log."""
    if reply.state == ReplyState.SENDING.value and reply.attempts == attempt:
        return True
    audit.record(session, actor.name, "reply.late_outcome", reply.mention_id, reply_id=reply.id, attempt=attempt,
                 outcome=outcome, error=error, external_id=external_id, state_now=reply.state)
    return False


def _finish(db: Database, reply_id: int, attempt: int, actor: Principal, state: ReplyState,
            error: str | None = None, external_id: str | None = None, url: str | None = None) -> Reply:
    with db.write() as session:
        reply = _locked_reply(session, reply_id)
        if _still_ours(session, reply, attempt, actor, state.value, error, external_id):
            _record_outcome(session, reply, actor, state, error, external_id, url)
        return reply


def _record_outcome(session: Session, reply: Reply, actor: Principal, state: ReplyState, error: str | None,
                    external_id: str | None, url: str | None, sent_at: datetime | None = None) -> None:
    """``sent_at``: when a sent reply went out, where known; else now."""
    now = utcnow()
    reply.state, reply.error, reply.updated_at = state.value, error, now
    if state is ReplyState.SENT:
        reply.external_id, reply.url, reply.sent_at = external_id, url, sent_at or now
        mention = _mention(session, reply.mention_id)
        earlier = mention.first_response_at
        mention.first_response_at = min(earlier, reply.sent_at) if earlier is not None else reply.sent_at
    audit.record(session, actor.name, f"reply.{state.value}", reply.mention_id, reply_id=reply.id, error=error)
    _check_in_follows(session, reply, state, actor)


def _finish_unknown(db: Database, reply_id: int, attempt: int, actor: Principal, error: str,
                    resent: str | None = None, retry_at: datetime | None = None) -> Reply:
    """Leave the reply for a person to check. ``resent``: why an earlier send may have posted it, where this
    send re-sent it and the platform refused (``error``, waiting until ``retry_at`` where it said): only a
    person's check makes such a reply one that can be retried (until 2026-12-07 the refusal made it a plain
    failure, and its retry after the platform forgot the key posted it twice)."""
    with db.write() as session:
        reply = _locked_reply(session, reply_id)
        if _still_ours(session, reply, attempt, actor, "unknown", error):
            reply.updated_at = utcnow()
            if resent is None:
                reply.error = f"delivery unknown, check the platform before retrying: {error}"
                audit.record(session, actor.name, "reply.unknown", reply.mention_id, reply_id=reply_id, error=error)
            else:
                when = f" after {retry_at:%H:%M} UTC" if retry_at is not None else ""
                reply.error = (f"{resent}. Sent again with the same idempotency key and refused ({error}), so not "
                               f"posted this time: send it again{when} with Send to all, or check the thread")
                audit.record(session, actor.name, "reply.resend_refused", reply.mention_id, reply_id=reply_id,
                             error=error, unknown=resent)
        return reply


def why_unknown(session: Session, reply: Reply) -> str:
    """Why a person must check the platform for this reply (:func:`outcome_unknown`): the error of the send
    that may have posted it, kept through re-sends the platform refused since."""
    return _unknown_so_far(session, reply) or reply.error or CUT_OFF


def reopen_unknown(session: Session, reply: Reply, actor: Principal, unknown: str) -> None:
    """Make a reply whose outcome is unknown sendable again (sending → failed), so that :func:`send_reply`
    re-sends it under its idempotency key: for a caller that knows the platform still remembers the key and
    answers it with the status it stored, if any. ``unknown``: :func:`why_unknown`, which the caller read to
    decide. The re-send's refusal leaves it unknown."""
    reply.state, reply.updated_at = ReplyState.FAILED.value, utcnow()
    reply.error = "interrupted while sending; sent again with the same idempotency key"
    audit.record(session, actor.name, "reply.resume", reply.mention_id, reply_id=reply.id, unknown=unknown)


def _unknown_so_far(session: Session, reply: Reply) -> str | None:
    """Why an earlier send may have posted the reply, where nothing since says it did or did not: its
    latest entry is its re-send under the key (:func:`reopen_unknown`) or that re-send's refusal. None
    otherwise (a send, a failure or a person's check came since)."""
    latest = session.execute(
        select(AuditEntry.action, AuditEntry.details)
        .where(*_audit_of(reply, "reply.send", "reply.failed", "reply.resume", "reply.resend_refused"))
        .order_by(AuditEntry.id.desc()).limit(1)).first()
    if latest is None or latest.action not in ("reply.resume", "reply.resend_refused"):
        return None
    return latest.details.get("unknown") or CUT_OFF  # a re-send begun before 2026-12-07 recorded no error


def outcome_unknown(reply: Reply, now: datetime | None = None) -> bool:
    """Whether a person must check the platform for this reply: it is in ``sending`` and its send
    ended without an answer, or its sender has been gone for :data:`SENDER_GONE_AFTER`."""
    if reply.state != ReplyState.SENDING.value:
        return False
    return reply.error is not None or reply.updated_at < (now or utcnow()) - SENDER_GONE_AFTER


def resolve_unknown(db: Database, reply_id: int, actor: Principal, posted: bool, external_id: str | None = None) -> Reply:
    """A person checked the platform: mark a reply whose outcome is unknown as sent, or failed (retryable).

    Refused while the reply is still being sent: "not posted" then made it retryable while its first
    send was still under way, and the retry posted it a second time. A reply checked as posted is
    dated (``sent_at``, the mention's first response) when the first send that may have posted it began
    (:func:`key_first_sent`; a re-send the platform refused posted nothing), not when it was checked.
    """
    require(actor, Role.AGENT, "resolving a reply")
    with db.write() as session:
        reply = _locked_reply(session, reply_id)
        if reply.state != ReplyState.SENDING.value:
            raise ReplyStateError(f"reply {reply_id} is {reply.state}, not waiting for a check")
        if not outcome_unknown(reply):
            raise ReplyStateError(f"reply {reply_id} is being sent now; check it once its send has ended")
        sent_at = key_first_sent(session, reply) if posted else None  # when it went out, not when someone looked
        _record_outcome(session, reply, actor, ReplyState.SENT if posted else ReplyState.FAILED,
                        None if posted else "marked not posted after a check", external_id, None, sent_at)
        return reply


def _audit_of(reply: Reply, *actions: str) -> tuple[ColumnElement[bool], ...]:
    """The reply's audit entries with these actions (``reply.send`` is written as it moves to sending)."""
    return (AuditEntry.mention_id == reply.mention_id, AuditEntry.action.in_(actions),
            AuditEntry.details["reply_id"].as_integer() == reply.id)


def sender_exited(session: Session, reply: Reply) -> bool:
    """Whether the process that began the reply's last send is known to have ended (a crash, a kill -9):
    its send was cut off. Known only on that process's host; elsewhere, or for sends recorded before
    2026-12-07 (no sender on record), False."""
    sender = session.scalar(select(AuditEntry.details["sender"].as_string()).where(*_audit_of(reply, "reply.send"))
                            .order_by(AuditEntry.id.desc()).limit(1))
    return sender is not None and worker_has_exited(sender)


def key_first_sent(session: Session, reply: Reply) -> datetime | None:
    """When the reply's idempotency key may first have reached the platform: its first send attempt since
    its last failure (a failed send, or one a person checked and marked not posted, posted nothing), so
    the platform remembers the key from then on. A refused re-send of a reply whose outcome was unknown
    is no failure (``reply.resend_refused``): the send it re-sent may have posted, and the window runs
    on from that one. None when no send is on record."""
    first = None
    for action, at in session.execute(select(AuditEntry.action, AuditEntry.at)
                                      .where(*_audit_of(reply, "reply.send", "reply.failed")).order_by(AuditEntry.id)):
        if action == "reply.failed":
            first = None
        elif first is None:
            first = at
    return first
