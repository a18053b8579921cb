"""PostgreSQL: an action that lands while a teammate's change to the same row is being written waits for it and
sees it, instead of writing over it (SQLite's writers take turns, so only PostgreSQL can interleave them)."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from functools import partial
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from monitor import audit, followups, incidents, replies, triage
from monitor.access import Principal, Role
from monitor.models import (
    AuditEntry,
    Brand,
    CheckIn,
    Incident,
    IncidentMention,
    IncidentStatus,
    Mention,
    MentionStatus,
    ReplyApproval,
    utcnow,
)
from monitor.storage import Database
from tests.principals import ADMIN, ANA, BEN
from tests.fault_tools import named_database, waiting_for_a_lock

TEAMMATE = "teammate"  # the thread whose change is held open
BOB = Principal("bob", Role.ADMIN)


@pytest.fixture
def named_db(postgres_url: str) -> Iterator[Database]:
    """A database whose connections carry a name of their own, so the test can see one wait for a lock."""
    db = named_database(postgres_url)
    db.upgrade()
    yield db
    db.dispose()


def _during(db: Database, monkeypatch: pytest.MonkeyPatch, held_at: str, teammate: Callable[[], object],
            action: Callable[[], object]) -> tuple[object, object]:
    """Run ``action`` while ``teammate``'s transaction has written its ``held_at`` audit entry but not yet
    committed; then let it commit. The outcome of each: what it returned, or what it raised."""
    checked, may_commit = threading.Event(), threading.Event()
    record = audit.record

    def hold(session: Session, actor: str, action_name: str, mention_id: int | None = None, **details: Any) -> None:
        record(session, actor, action_name, mention_id, **details)
        if action_name == held_at and threading.current_thread().name == TEAMMATE:
            session.flush()  # its rows written and locked, as the rest of its transaction would leave them
            checked.set()
            may_commit.wait()

    monkeypatch.setattr(audit, "record", hold)
    outcomes: dict[str, object] = {}

    def run(name: str, work: Callable[[], object]) -> None:
        try:
            outcomes[name] = work()
        except Exception as exc:  # the outcome asserted on, whatever it is
            outcomes[name] = exc

    first = threading.Thread(target=run, args=(TEAMMATE, teammate), name=TEAMMATE)
    second = threading.Thread(target=run, args=("action", action))
    first.start()
    try:
        assert checked.wait(60), "the teammate's change never reached its audit entry"
        second.start()
        give_up = time.monotonic() + 60  # only so that a hang fails: no outcome depends on speed
        while second.is_alive() and not waiting_for_a_lock(db):
            assert time.monotonic() < give_up, "the action neither finished nor waited for a lock"
            second.join(0.01)
    finally:
        may_commit.set()
        first.join()
    second.join()
    return outcomes[TEAMMATE], outcomes["action"]


def _mention(db: Database, brand_id: int | None = None) -> int:
    with db.write() as session:
        mention = Mention(platform="scripted", external_id=uuid.uuid4().hex, text="@acme the app logs me out",
                          created_at=utcnow(), replyable=True, raw={}, status="open", brand_id=brand_id)
        session.add(mention)
        session.flush()
        return mention.id


def _status(db: Database, mention_id: int) -> str:
    with db.read() as session:
        return session.get_one(Mention, mention_id).status


def _resolved_by_ben(db: Database, mention_id: int) -> Callable[[], object]:
    return partial(triage.set_status, db, [mention_id], MentionStatus.RESOLVED.value, BEN)


def test_a_follow_up_set_as_a_teammate_resolves_does_not_reopen_the_mention(
        named_db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    mention_id = _mention(named_db)
    follow_up = partial(followups.set_follow_up, named_db, mention_id, utcnow() + timedelta(days=1), ANA)
    _, refused = _during(named_db, monkeypatch, "triage.status", _resolved_by_ben(named_db, mention_id), follow_up)
    assert isinstance(refused, followups.FollowUpError) and "is resolved" in str(refused)
    assert _status(named_db, mention_id) == MentionStatus.RESOLVED.value


def test_a_follow_up_coming_due_as_a_teammate_resolves_leaves_it_resolved(
        named_db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    mention_id = _mention(named_db)
    followups.set_follow_up(named_db, mention_id, utcnow() + timedelta(hours=1), ANA)
    tick = partial(followups.run_due, named_db, utcnow() + timedelta(hours=2))
    _, due = _during(named_db, monkeypatch, "triage.status", _resolved_by_ben(named_db, mention_id), tick)
    assert isinstance(due, followups.DueWork) and due.reopened == []
    assert _status(named_db, mention_id) == MentionStatus.RESOLVED.value
    assert followups.pending_follow_up(named_db, mention_id) is None, "the date has done its job"
    with named_db.read() as session:
        status_changes = select(AuditEntry).where(AuditEntry.mention_id == mention_id,
                                                  AuditEntry.action.in_(("triage.status", "follow_up.due")))
        changes = [(entry.actor, entry.details["before"], entry.details["after"])
                   for entry in session.scalars(status_changes.order_by(AuditEntry.id))]
    assert changes == [("ana", "open", "pending"), ("ben", "pending", "resolved")]


def test_two_agents_resolving_with_a_check_in_at_once_schedule_one(
        named_db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    mention_id = _mention(named_db)
    due_at = utcnow() + timedelta(days=3)
    ana_first = partial(followups.resolve_with_check_in, named_db, mention_id, "All good now?", due_at, ANA)
    ben_too = partial(followups.resolve_with_check_in, named_db, mention_id, "Fixed for you?", due_at, BEN)
    scheduled, refused = _during(named_db, monkeypatch, "check_in.schedule", ana_first, ben_too)
    assert isinstance(scheduled, CheckIn) and isinstance(refused, followups.CheckInUnderWay)
    with named_db.read() as session:
        assert session.scalar(select(func.count()).select_from(CheckIn)) == 1


def test_resolving_an_incident_as_a_teammate_merges_it_is_refused(
        named_db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    with named_db.write() as session:
        brand = Brand(key="acme", name="Acme")
        session.add(brand)
        session.flush()
        brand_id = brand.id
    incident_ids = []
    for _ in range(2):
        members = [_mention(named_db, brand_id=brand_id) for _ in range(3)]
        with named_db.write() as session:
            incident = Incident(brand_id=brand_id, first_seen_at=utcnow(), last_seen_at=utcnow())
            session.add(incident)
            session.flush()
            session.add_all(IncidentMention(mention_id=m, incident_id=incident.id, similarity=0.9) for m in members)
            incident_ids.append(incident.id)
    merged, into = incident_ids
    merge = partial(incidents.merge_incident, named_db, merged, into, BEN)
    resolve = partial(incidents.resolve_incident, named_db, merged, ANA)
    moved, refused = _during(named_db, monkeypatch, "incident.merge", merge, resolve)
    assert moved == 3
    assert isinstance(refused, incidents.IncidentError) and f"merged into incident {into}" in str(refused)
    with named_db.read() as session:
        row = session.get_one(Incident, merged)
        assert (row.status, row.merged_into_id, row.resolved_by) == (IncidentStatus.MERGED.value, into, None)


def test_two_approvers_approving_one_draft_at_once_both_see_the_one_approval(
        named_db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    with named_db.write() as session:
        brand = Brand(key="acme", name="Acme", reply_approval=True)
        session.add(brand)
        session.flush()
        brand_id = brand.id
    draft = replies.draft_reply(named_db, _mention(named_db, brand_id=brand_id), "Sorry, we are on it.", ANA)
    ada_first = partial(replies.approve_reply, named_db, draft.id, ADMIN)
    bob_too = partial(replies.approve_reply, named_db, draft.id, BOB)
    ada, bob = _during(named_db, monkeypatch, "reply.approve", ada_first, bob_too)
    assert isinstance(ada, ReplyApproval) and isinstance(bob, ReplyApproval), bob
    assert (ada.approver, bob.approver) == ("ada", "ada")
