"""Sign-in's edges: a lock-out count per name as typed, single sign-on for single sign-on users only, refused
attempts in the audit log, and names or passwords no user can have (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from monitor import users
from monitor.access import Role
from monitor.models import AuditEntry, utcnow
from monitor.storage import Database
from monitor.users import SignInFailed, SignInLocked
from tests.principals import ADMIN
from tests.test_users import PASSWORD, POLICY


def _audited(db: Database, action: str) -> list[tuple[str, dict[str, object]]]:
    with db.read() as session:
        return [(e.actor, e.details) for e in session.scalars(select(AuditEntry).where(AuditEntry.action == action)
                                                               .order_by(AuditEntry.id))]


def test_one_users_right_password_does_not_clear_another_users_failures(db: Database) -> None:
    # "ana" and "Ana" are two users: whoever holds Ana must not get a fresh count of guesses at ana's password
    # by signing in as Ana between them.
    users.add_user(db, ADMIN, "ana", Role.ADMIN, "the admins own passphrase")
    users.add_user(db, ADMIN, "Ana", Role.VIEWER, PASSWORD)
    t0 = utcnow()
    for guess in ("guess 1", "guess 2", "guess 3"):
        with pytest.raises(SignInFailed):
            users.sign_in(db, "ana", guess, POLICY, now=t0)
    with pytest.raises(SignInFailed):
        users.sign_in(db, " ana ", "guess 4", POLICY, now=t0)  # the name as sign-in matches it: stripped
    assert users.sign_in(db, "Ana", PASSWORD, POLICY, now=t0).principal.name == "Ana"
    with pytest.raises(SignInLocked, match="try again in 30 s"):
        users.sign_in(db, "ana", "guess 5", POLICY, now=t0)
    # Nor does ana's lock-out lock Ana out.
    assert users.sign_in(db, "Ana", PASSWORD, POLICY, now=t0).principal.name == "Ana"


def test_single_sign_on_does_not_sign_in_a_password_user(db: Database) -> None:
    # Added without --oidc: the provider vouching for the address must not skip the password and its lock-out.
    users.add_user(db, ADMIN, "boss@example.com", Role.ADMIN, PASSWORD)
    for email in ("boss@example.com", "Boss@Example.com"):
        with pytest.raises(SignInFailed, match="not a mentiondesk user"):
            users.sign_in_external(db, email)
    assert users.sign_in(db, "boss@example.com", PASSWORD).principal.name == "boss@example.com"


def test_attempts_refused_by_a_lock_out_are_audited_once_per_lock_out(db: Database) -> None:
    users.add_user(db, ADMIN, "ana", Role.AGENT, PASSWORD)
    t0 = utcnow()
    for attempt in range(POLICY.max_failures):
        with pytest.raises(SignInFailed):
            users.sign_in(db, "ana", f"guess {attempt}", POLICY, now=t0)
    for seconds in range(1, 30):  # the right password too: refused unchecked
        with pytest.raises(SignInLocked):
            users.sign_in(db, "ana", PASSWORD, POLICY, now=t0 + timedelta(seconds=seconds))
    assert _audited(db, "auth.locked") == [("ana", {"locked_until": (t0 + timedelta(seconds=30)).isoformat()})]
    # The next lock-out's refusals get an entry of their own; the count and its doubling go on as before.
    with pytest.raises(SignInLocked, match="try again in 60 s"):
        users.sign_in(db, "ana", "guess 6", POLICY, now=t0 + timedelta(seconds=31))
    for seconds in (32, 33):
        with pytest.raises(SignInLocked):
            users.sign_in(db, "ana", "guess 7", POLICY, now=t0 + timedelta(seconds=seconds))
    assert [details["locked_until"] for _, details in _audited(db, "auth.locked")] == [
        (t0 + timedelta(seconds=s)).isoformat() for s in (30, 91)]
    assert [details["failures"] for _, details in _audited(db, "auth.failed")] == [1, 2, 3, 4, 5, 6]
    assert users.sign_in(db, "ana", PASSWORD, POLICY, now=t0 + timedelta(seconds=92)).principal.name == "ana"


def test_refused_single_sign_ons_are_audited(db: Database) -> None:
    with pytest.raises(SignInFailed, match="eve@example.com is not a mentiondesk user"):
        users.sign_in_external(db, "eve@example.com")
    assert _audited(db, "auth.failed") == [("eve@example.com", {"method": "oidc"})]


def test_a_single_sign_on_with_an_unverified_address_is_refused_and_audited(db: Database) -> None:
    # The dashboard refused it before asking the service, so nothing was audited.
    users.add_user(db, ADMIN, "ana@example.com", Role.AGENT, None)
    with pytest.raises(SignInFailed, match="not verified"):
        users.sign_in_external(db, "ana@example.com", verified=False)
    assert _audited(db, "auth.failed") == [("ana@example.com", {"method": "oidc", "reason": "email not verified"})]
    assert users.sign_in_external(db, "ana@example.com").principal.name == "ana@example.com"


@pytest.mark.parametrize("name", [
    "ana\x00",  # PostgreSQL keeps no NUL in text, not even to compare with
    "ana\udc80",  # a lone surrogate (what undecodable bytes become): not encodable at all
    "ana" + "a" * 198,  # longer than any name
], ids=["nul", "surrogate", "too-long"])
def test_a_name_no_user_can_have_is_a_failed_sign_in(db: Database, name: str) -> None:
    users.add_user(db, ADMIN, "ana", Role.AGENT, PASSWORD)
    users.add_user(db, ADMIN, "ana@example.com", Role.AGENT, None)
    with pytest.raises(SignInFailed, match="wrong user name or password"):
        users.sign_in(db, name, PASSWORD)
    with pytest.raises(SignInFailed, match="not a mentiondesk user"):
        users.sign_in_external(db, name.replace("ana", "ana@example.com", 1))
    assert users.sign_in(db, "ana", PASSWORD).principal.name == "ana"


def test_a_password_that_is_not_text_is_a_failed_sign_in(db: Database) -> None:
    users.add_user(db, ADMIN, "ana", Role.AGENT, PASSWORD)
    with pytest.raises(SignInFailed, match="wrong user name or password"):
        users.sign_in(db, "ana", PASSWORD + "\udc80")  # a lone surrogate: argon2 cannot hash it
    assert users.sign_in(db, "ana", PASSWORD).principal.name == "ana"
