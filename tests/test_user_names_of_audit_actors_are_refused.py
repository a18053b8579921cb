"""The audit log's own actors (automation "system", settings "config", a removed user's "unknown", the old
"mentiondesk", the command line's "cli:<account>") are no name for a dashboard user, so no user's entries pass
for theirs; automatic entries (a follow-up reopening a mention, an incident opened) are all "system"."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from sqlalchemy import select

from monitor import followups, users
from monitor.access import Role
from monitor.audit import SYSTEM_ACTOR
from monitor.models import AuditEntry, Mention, utcnow
from monitor.storage import Database
from monitor.users import UserError
from tests.principals import ADMIN, ANA
from tests.test_incidents import _twice_opened
from tests.test_users import PASSWORD


@pytest.mark.parametrize("name", ["config", "system", "mentiondesk", "unknown", "cli:root", "cli:", " system ",
                                  "cli:ana@example.com"])
def test_an_audit_actors_name_is_refused_for_a_user(sqlite_db: Database, name: str) -> None:
    oidc = "@" in name
    with pytest.raises(UserError, match="kept for the audit log's own entries"):
        users.add_user(sqlite_db, ADMIN, name, Role.ADMIN, None if oidc else PASSWORD)
    assert users.list_users(sqlite_db, ADMIN) == []


@pytest.mark.parametrize("name", ["systems", "ana config", "clio:ana", "Unknown Soldier"])
def test_a_name_only_like_one_is_a_users(sqlite_db: Database, name: str) -> None:
    assert users.add_user(sqlite_db, ADMIN, name, Role.AGENT, PASSWORD).name == name


def test_a_due_follow_up_reopens_its_mention_as_system(sqlite_db: Database) -> None:
    with sqlite_db.write() as session:
        mention = Mention(platform="sample", external_id="m1", text="any news?", created_at=utcnow(),
                          author_handle="carla", url="https://example.com/m1", status="new")
        session.add(mention)
        session.flush()
        mention_id = mention.id
    followups.set_follow_up(sqlite_db, mention_id, utcnow() + timedelta(hours=1), ANA)
    assert followups.run_due(sqlite_db, utcnow() + timedelta(hours=2)).reopened == [mention_id]
    with sqlite_db.read() as session:
        actors = list(session.scalars(select(AuditEntry.actor).where(AuditEntry.action == "follow_up.due")))
    assert actors == [SYSTEM_ACTOR]


def test_an_incident_is_opened_as_system(sqlite_db: Database) -> None:
    opened = _twice_opened(sqlite_db, np.random.default_rng(11))
    with sqlite_db.read() as session:
        entries = session.execute(select(AuditEntry.actor, AuditEntry.details)
                                  .where(AuditEntry.action == "incident.open").order_by(AuditEntry.id)).all()
    assert [(actor, details["incident_id"]) for actor, details in entries] == [
        (SYSTEM_ACTOR, opened.first_id), (SYSTEM_ACTOR, opened.second_id)]
