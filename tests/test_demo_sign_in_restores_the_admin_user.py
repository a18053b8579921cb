"""The demo prints "admin user demo" with a fresh password: that sign-in works, as an admin, whatever was done
to the demo user in its database since."""

from __future__ import annotations

from sqlalchemy import select

from monitor import users
from monitor.access import Role, local_operator
from monitor.demo import DEMO_USER, demo_sign_in
from monitor.models import AuditEntry
from monitor.storage import Database


def test_a_demoted_and_disabled_demo_user_signs_in_as_an_admin_again(db: Database) -> None:
    operator = local_operator()
    users.add_user(db, operator, DEMO_USER, Role.ADMIN, "first password 1")
    users.add_user(db, operator, "boss", Role.ADMIN, "boss password 1")
    users.set_role(db, operator, DEMO_USER, Role.VIEWER)
    users.disable_user(db, operator, DEMO_USER)

    password = demo_sign_in(db)

    assert users.sign_in(db, DEMO_USER, password).principal.role is Role.ADMIN
    with db.read() as session:
        actions = session.scalars(select(AuditEntry.action).where(AuditEntry.actor == operator.name)
                                  .order_by(AuditEntry.id.desc()).limit(3)).all()
    assert sorted(actions) == ["user.enable", "user.reset_password", "user.role"]  # as any admin's change is


def test_an_active_admin_demo_user_only_gets_a_new_password(db: Database) -> None:
    first = demo_sign_in(db)
    second = demo_sign_in(db)
    assert users.sign_in(db, DEMO_USER, second).principal.role is Role.ADMIN
    assert first != second
    with db.read() as session:
        actions = session.scalars(select(AuditEntry.action).where(AuditEntry.actor == local_operator().name)
                                  .order_by(AuditEntry.id)).all()
    assert actions == ["user.add", "user.reset_password"]
