"""Two users stored before names were normalised whose names differ only in form ("ana lopez" and "ana\u00a0lopez")
each keep their own count of failed sign-ins: one's right password, or a new password for one, never clears the
other's (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from monitor import users
from monitor.access import Role
from monitor.models import User, utcnow
from monitor.storage import Database
from monitor.users import SignInFailed, SignInLocked
from tests.principals import ADMIN
from tests.test_users import POLICY

VICTIM, OTHER = "ana lopez", "ana\u00a0lopez"
VICTIM_PASSWORD, OTHER_PASSWORD = "the victims own secret", "the other users own secret"


def _store_look_alike_pair(db: Database) -> None:
    """As stored before 2026-12-07 (user add now refuses the second)."""
    hasher = PasswordHasher()
    with db.write() as session:
        session.add(User(name=VICTIM, role=Role.ADMIN.value, password_hash=hasher.hash(VICTIM_PASSWORD)))
        session.add(User(name=OTHER, role=Role.AGENT.value, password_hash=hasher.hash(OTHER_PASSWORD)))


def _guess_below_the_limit(db: Database, name: str) -> None:
    now = utcnow()
    for attempt in range(POLICY.max_failures - 1):
        with pytest.raises(SignInFailed):
            users.sign_in(db, name, f"guess {attempt}", POLICY, now=now)


def test_the_other_users_sign_in_does_not_clear_the_guesses_at_a_look_alike(db: Database) -> None:
    _store_look_alike_pair(db)
    _guess_below_the_limit(db, VICTIM)
    assert users.sign_in(db, OTHER, OTHER_PASSWORD, POLICY).principal.name == OTHER
    with pytest.raises(SignInLocked):
        users.sign_in(db, VICTIM, "one guess too many", POLICY)
    with pytest.raises(SignInLocked):  # the right password too, while locked
        users.sign_in(db, VICTIM, VICTIM_PASSWORD, POLICY)
    assert users.sign_in(db, OTHER, OTHER_PASSWORD, POLICY).principal.name == OTHER, "each its own lock-out"


def test_a_new_password_for_the_other_user_does_not_lift_a_look_alikes_lock_out(db: Database) -> None:
    _store_look_alike_pair(db)
    _guess_below_the_limit(db, VICTIM)
    with pytest.raises(SignInFailed):
        users.sign_in(db, VICTIM, "the last guess", POLICY)  # now locked
    users.reset_password(db, ADMIN, OTHER, "a brand new password")
    with pytest.raises(SignInLocked):
        users.sign_in(db, VICTIM, VICTIM_PASSWORD, POLICY)
    users.reset_password(db, ADMIN, VICTIM, "the victims new secret")  # lifts their own
    assert users.sign_in(db, VICTIM, "the victims new secret", POLICY).principal.name == VICTIM


def test_a_name_of_no_user_is_counted_in_one_form_however_it_is_typed(db: Database) -> None:
    now = utcnow()
    for attempt in range(POLICY.max_failures):
        with pytest.raises(SignInFailed):
            users.sign_in(db, ("no such\u00a0user", "no such user")[attempt % 2], f"guess {attempt}", POLICY, now=now)
    with pytest.raises(SignInLocked):
        users.sign_in(db, "no such user", "guess", POLICY, now=now)


def _locked_after(db: Database, spellings: tuple[str, ...]) -> int | None:
    """After how many wrong passwords, each typed in the next of ``spellings``, the sign-in form says locked."""
    now = utcnow()
    for attempt in range(2 * POLICY.max_failures):
        try:
            users.sign_in(db, spellings[attempt % len(spellings)], f"guess {attempt}", POLICY, now=now)
        except SignInLocked:
            return attempt
        except SignInFailed:
            continue
    return None


def test_guesses_at_a_single_sign_on_address_lock_as_at_a_name_of_no_user(db: Database) -> None:
    # The form must not tell which addresses are users': a single sign-on user is found in any case, so counting
    # their guesses under the stored address locked every spelling at once, where an unknown one counts each apart.
    users.add_user(db, ADMIN, "lead@example.com", Role.ADMIN, None)
    sso = _locked_after(db, ("Lead@Example.com", "LEAD@example.com", "lead@EXAMPLE.com"))
    unknown = _locked_after(db, ("Nobody@Example.com", "NOBODY@example.com", "nobody@EXAMPLE.com"))
    assert sso == unknown
