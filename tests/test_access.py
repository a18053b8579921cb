"""Roles are checked in the services: every call refuses a role below its own (and a bare name),
changing nothing; replies on an approval brand need an approver other than their author."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select

from connectors.base import ConnectorSettings
from monitor import audit, presence, replies, triage, users
from monitor.access import Principal, Role, require
from monitor.errors import AccessDenied, ReplyError
from monitor.models import AuditEntry, Brand, Mention, MentionTag, Reply, ReplyState, User
from monitor.replies import ApprovalRequired
from monitor.storage import Database
from monitor.transfer import import_mentions
from sentiment.triage import DEFAULT_RULES
from tests.connector_doubles import T0, RecordingReplyConnector
from tests.principals import ADMIN, ANA, BEN, VIEWER

Call = Callable[[Database, dict[str, Any], Any], object]


def _brand(db: Database, key: str, reply_approval: bool) -> int:
    with db.write() as session:
        brand = Brand(key=key, name=key.title(), reply_approval=reply_approval)
        session.add(brand)
        session.flush()
        return brand.id


def _mention(db: Database, brand_id: int | None = None, external_id: str = "m1") -> int:
    with db.write() as session:
        m = Mention(platform="scripted", external_id=external_id, text="@acme help", created_at=T0, replyable=True,
                    raw={}, brand_id=brand_id)
        session.add(m)
        session.flush()
        return m.id


@pytest.fixture
def world(db: Database) -> dict[str, Any]:
    """A mention with a tag, a draft, a reply stuck in sending, a user to manage: something for every call."""
    m = _mention(db)
    triage.add_tag(db, [m], "billing", ANA)
    draft = replies.draft_reply(db, m, "On it", ANA)
    stuck = replies.draft_reply(db, m, "Stuck", ANA)
    with db.write() as session:
        stuck_row = session.get_one(Reply, stuck.id)
        stuck_row.state, stuck_row.error = ReplyState.SENDING.value, "delivery unknown, check the platform"
    users.add_user(db, ADMIN, "zoe", Role.AGENT, "a long enough password")
    return {"mention": m, "draft": draft.id, "stuck": stuck.id}


CONNECTOR = RecordingReplyConnector(ConnectorSettings())


def _audit_entries(db: Database, actor: Any) -> list[AuditEntry]:
    with db.read() as session:
        return audit.entries(session, actor)

IMPORT_LINE = '{"platform": "sample", "external_id": "imp-1", "text": "hi", "created_at": "2026-01-01T00:00:00Z"}\n'

# Every service that acts for a person, with the least role it needs.
SERVICES: list[tuple[str, Role, Call]] = [
    ("set_status", Role.AGENT, lambda db, w, a: triage.set_status(db, [w["mention"]], "open", a)),
    ("assign", Role.AGENT, lambda db, w, a: triage.assign(db, [w["mention"]], "ana", a)),
    ("add_tag", Role.AGENT, lambda db, w, a: triage.add_tag(db, [w["mention"]], "refund", a)),
    ("remove_tag", Role.AGENT, lambda db, w, a: triage.remove_tag(db, [w["mention"]], "billing", a)),
    ("add_note", Role.AGENT, lambda db, w, a: triage.add_note(db, w["mention"], "called back", a)),
    ("relabel", Role.AGENT,
     lambda db, w, a: triage.relabel(db, [w["mention"]], a, sentiment="negative", rules=DEFAULT_RULES)),
    ("draft_reply", Role.AGENT, lambda db, w, a: replies.draft_reply(db, w["mention"], "Hello", a)),
    ("send_reply", Role.AGENT, lambda db, w, a: replies.send_reply(db, w["draft"], CONNECTOR, a)),
    ("send_reply_once", Role.AGENT, lambda db, w, a: presence.send_reply_once(db, w["draft"], CONNECTOR, a,
                                                                           follow_up_of=w["stuck"])),
    ("resolve_unknown", Role.AGENT, lambda db, w, a: replies.resolve_unknown(db, w["stuck"], a, posted=False)),
    ("approve_reply", Role.ADMIN, lambda db, w, a: replies.approve_reply(db, w["draft"], a)),
    ("add_user", Role.ADMIN, lambda db, w, a: users.add_user(db, a, "mallory", Role.ADMIN, "a long enough password")),
    ("list_users", Role.ADMIN, lambda db, w, a: users.list_users(db, a)),
    ("set_role", Role.ADMIN, lambda db, w, a: users.set_role(db, a, "zoe", Role.ADMIN)),
    ("disable_user", Role.ADMIN, lambda db, w, a: users.disable_user(db, a, "zoe")),
    ("reset_password", Role.ADMIN, lambda db, w, a: users.reset_password(db, a, "zoe", "another long password")),
    ("audit_entries", Role.ADMIN, lambda db, w, a: _audit_entries(db, a)),
    ("audit_export", Role.ADMIN, lambda db, w, a: audit.export(db, a, io.StringIO(), "csv")),
    ("import_mentions", Role.ADMIN, lambda db, w, a: import_mentions(db, io.StringIO(IMPORT_LINE), "jsonl", a)),
]
LOWER = {Role.AGENT: [VIEWER.name, "bare"], Role.ADMIN: [VIEWER.name, ANA.name, "bare"]}
ACTORS: dict[str, Any] = {VIEWER.name: VIEWER, ANA.name: ANA, "bare": "ada"}  # "bare": a name string, even an admin's


def _state(db: Database) -> tuple[Any, ...]:
    with db.read() as session:
        return (
            session.scalar(select(func.count()).select_from(AuditEntry)),
            [(m.status, m.assignee, m.human_sentiment_label) for m in session.scalars(select(Mention).order_by(Mention.id))],
            sorted(session.execute(select(MentionTag.mention_id, MentionTag.tag)).all()),
            sorted(session.execute(select(Reply.id, Reply.state, Reply.attempts)).all()),
            sorted(session.execute(select(User.name, User.role, User.password_hash, User.disabled_at)).all()),
        )


@pytest.mark.parametrize("name,role,call", SERVICES, ids=[s[0] for s in SERVICES])
def test_every_service_refuses_a_lower_role_and_changes_nothing(db: Database, world: dict[str, Any], name: str,
                                                                role: Role, call: Call) -> None:
    RecordingReplyConnector.calls = []  # shared by the test modules: what this test posted, nothing else
    before = _state(db)
    for actor in LOWER[role]:
        with pytest.raises(AccessDenied):
            call(db, world, ACTORS[actor])
    assert _state(db) == before
    assert RecordingReplyConnector.calls == []


@pytest.mark.parametrize("name,role,call", SERVICES, ids=[s[0] for s in SERVICES])
def test_every_service_lets_its_own_role_act(db: Database, world: dict[str, Any], name: str, role: Role,
                                             call: Call, connector: RecordingReplyConnector) -> None:
    # An approval's approver must not be the draft's author (ana): use another principal with the role.
    actor = Principal("someone", role)
    call(db, world, actor)


def test_require_names_the_missing_role() -> None:
    with pytest.raises(AccessDenied, match="needs the admin role; vic is a viewer"):
        require(VIEWER, Role.ADMIN, "exporting the audit log")
    with pytest.raises(AccessDenied, match="needs a signed-in user"):
        require("ada", Role.VIEWER)
    assert require(ADMIN, Role.AGENT) is ADMIN


def test_an_approval_brand_reply_cannot_be_sent_by_its_author_alone(db: Database,
                                                                   connector: RecordingReplyConnector) -> None:
    m = _mention(db, _brand(db, "acme", reply_approval=True))
    lead = Principal("lead", Role.ADMIN)
    draft = replies.draft_reply(db, m, "Sorry! DM us", ANA)
    with pytest.raises(ApprovalRequired, match="waits for approval"):
        replies.send_reply(db, draft.id, connector, ANA)
    with pytest.raises(ApprovalRequired):
        presence.send_reply_once(db, draft.id, connector, ANA)
    with pytest.raises(AccessDenied):
        replies.approve_reply(db, draft.id, BEN)  # another agent is no approver
    assert connector.calls == []

    own = replies.draft_reply(db, m, "Mine", lead)  # an admin's own draft needs someone else too
    with pytest.raises(ReplyError, match="other than its author"):
        replies.approve_reply(db, own.id, lead)
    with pytest.raises(ApprovalRequired):
        replies.send_reply(db, own.id, connector, lead)

    with db.read() as session:
        waiting = replies.drafts_for_approval(session, m)
    assert [(r.id, a) for r, a in waiting] == [(draft.id, None), (own.id, None)]
    replies.approve_reply(db, draft.id, lead)
    assert presence.send_reply_once(db, draft.id, connector, ANA).state == ReplyState.SENT.value
    assert connector.calls == [("m1", "Sorry! DM us")]
    with db.read() as session:
        actions = [(e.actor, e.action) for e in reversed(audit.entries(session, ADMIN, m))]
    assert ("lead", "reply.approve") in actions and actions[-1] == ("ana", "reply.sent")


def test_brands_without_approval_send_directly(db: Database, connector: RecordingReplyConnector) -> None:
    m = _mention(db, _brand(db, "free", reply_approval=False))
    draft = replies.draft_reply(db, m, "Hi", ANA)
    assert replies.send_reply(db, draft.id, connector, ANA).state == ReplyState.SENT.value
    with db.read() as session:
        assert replies.drafts_for_approval(session, m) == []


def test_the_config_switch_reaches_the_database(db: Database) -> None:
    from monitor.config import Config
    from monitor.ingest import sync_brands

    config = Config.from_dict({"brands": [{"name": "Acme", "keywords": ["acme"], "reply_approval": True},
                                          {"name": "Other", "keywords": ["other"]}],
                               "connectors": {"sample": {}}}, env={})
    sync_brands(db, config.brands, {})
    with db.read() as session:
        assert dict(session.execute(select(Brand.key, Brand.reply_approval)).all()) == {"acme": True, "other": False}
