"""The sign-in lock-out under a burst of concurrent guesses (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from sqlalchemy import func, select

from monitor import users
from monitor.access import Role
from monitor.models import AuditEntry, SignInFailure
from monitor.storage import Database
from monitor.users import SignInFailed, SignInLocked
from tests.principals import ADMIN
from tests.test_users import PASSWORD, POLICY

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
