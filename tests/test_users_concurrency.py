"""Sign-in and user changes racing each other: the lock-out under a burst of concurrent guesses, a password
reset while the old one is being checked (SQLite and PostgreSQL), two admins removing each other (PostgreSQL)."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from monitor import audit, users
from monitor.access import Principal, Role
from monitor.models import AuditEntry, SignInFailure, User, UserSession
from monitor.storage import Database
from monitor.users import SignInFailed, SignInLocked, UserError
from tests.principals import ADMIN
from tests.test_users import PASSWORD, POLICY
from tests.fault_tools import named_database, waiting_for_a_lock

GUESSERS = 12  # more than the pool's 5 connections, so guesses overlap in every way


def _burst(db: Database, name: str) -> Counter[str]:
    """Every guesser signs in with a wrong password at once; how each attempt ended."""
    start = threading.Barrier(GUESSERS)
    outcomes: list[str] = []

    def guess(i: int) -> None:
        start.wait()
        try:
            users.sign_in(db, name, f"wrong guess {i:04d}", POLICY)
            outcomes.append("signed in")
        except SignInLocked:
            outcomes.append("locked")
        except SignInFailed:
            outcomes.append("failed")

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(GUESSERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return Counter(outcomes)


@pytest.mark.parametrize("name", ["ana", "ghost"])  # a user, and a name nobody has
def test_a_burst_of_concurrent_guesses_checks_no_more_passwords_than_max_failures(db: Database, name: str) -> None:
    users.add_user(db, ADMIN, "ana", Role.AGENT, PASSWORD)
    outcomes = _burst(db, name)
    # Each attempt is counted before its password is checked: the fifth locks the name for the rest.
    assert outcomes == Counter(failed=POLICY.max_failures - 1, locked=GUESSERS - POLICY.max_failures + 1)
    with db.read() as session:
        checked = session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "auth.failed"))
        assert checked == POLICY.max_failures
        assert session.get_one(SignInFailure, name).failures == POLICY.max_failures
    with pytest.raises(SignInLocked):  # the right password too, until the lock-out ends
        users.sign_in(db, name, PASSWORD, POLICY)


def test_the_right_password_clears_the_attempt_it_counted(db: Database) -> None:
    users.add_user(db, ADMIN, "ana", Role.AGENT, PASSWORD)
    for attempt in range(POLICY.max_failures - 1):
        with pytest.raises(SignInFailed):
            users.sign_in(db, "ana", f"guess {attempt}", POLICY)
    # Counted as the fifth attempt (a lock, had it been wrong), then cleared by the right password.
    assert users.sign_in(db, "ana", PASSWORD, POLICY).principal.name == "ana"
    with db.read() as session:
        assert session.get(SignInFailure, "ana") is None


def test_a_sign_in_with_the_old_password_checked_during_a_reset_opens_no_session(
        db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    users.add_user(db, ADMIN, "ana", Role.AGENT, PASSWORD)
    check = users._verify

    def reset_while_checking(password_hash: str | None, password: str) -> bool:
        right = check(password_hash, password)
        users.reset_password(db, ADMIN, "ana", "a brand new password")  # lands while argon2 works (~50 ms)
        return right

    monkeypatch.setattr(users, "_verify", reset_while_checking)
    # A reset ends the user's sessions: one opened for the password it replaced would outlive it.
    with pytest.raises(SignInFailed, match="wrong user name or password"):
        users.sign_in(db, "ana", PASSWORD)
    monkeypatch.undo()
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(UserSession)) == 0
    assert users.sign_in(db, "ana", "a brand new password").principal.name == "ana"


REMOVALS: dict[str, Callable[[Database, Principal, str], object]] = {
    "demote": lambda db, actor, name: users.set_role(db, actor, name, Role.AGENT),
    "disable": users.disable_user,
}


@pytest.mark.parametrize("removal", sorted(REMOVALS))
def test_two_admins_removing_each_other_at_once_leave_one_admin(
        postgres_url: str, monkeypatch: pytest.MonkeyPatch, removal: str) -> None:
    db = named_database(postgres_url)
    try:
        db.upgrade()
        for name in ("root", "second"):
            users.add_user(db, ADMIN, name, Role.ADMIN, PASSWORD)
        first_checked, first_may_commit = threading.Event(), threading.Event()
        record = audit.record

        def hold_the_first(session: Session, actor: str, action: str, mention_id: int | None = None,
                           **details: Any) -> None:
            if details.get("user") == "second":  # root's change to second: checked, not yet committed
                first_checked.set()
                first_may_commit.wait()
            record(session, actor, action, mention_id, **details)

        monkeypatch.setattr(audit, "record", hold_the_first)
        outcomes: dict[str, str] = {}

        def remove(actor: str, name: str) -> None:
            try:
                REMOVALS[removal](db, Principal(actor, Role.ADMIN), name)
                outcomes[name] = "removed"
            except UserError as exc:
                outcomes[name] = str(exc)

        first = threading.Thread(target=remove, args=("root", "second"))
        second = threading.Thread(target=remove, args=("second", "root"))
        first.start()
        assert first_checked.wait(60), "root's change never reached its audit entry"
        second.start()
        # Until second's change has finished (nothing held it) or waits for the rows root's change holds.
        give_up = time.monotonic() + 60  # only so that a hang fails: no outcome depends on speed
        while second.is_alive() and not waiting_for_a_lock(db):
            assert time.monotonic() < give_up, "second's change neither finished nor waited for a lock"
            second.join(0.01)
        first_may_commit.set()
        first.join()
        second.join()
        assert outcomes == {"second": "removed", "root": "root is the last active admin; make someone else admin first"}
        with db.read() as session:
            assert list(session.scalars(select(User.name).where(User.role == Role.ADMIN.value,
                                                                User.disabled_at.is_(None)))) == ["root"]
    finally:
        db.dispose()
