"""A user name is one name however its letters were typed: "josé" as é (NFC) or as e and U+0301 (NFD) is stored,
looked up, signed in, counted and assigned in NFC, so no user's name can pass for another's."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from monitor import users
from monitor.access import Role
from monitor.models import User
from monitor.storage import Database
from monitor.triage import clean_assignee
from monitor.users import SignInFailed, SignInLocked, UserError
from tests.principals import ADMIN
from tests.test_users import PASSWORD, POLICY

NFC = "jos\u00e9"
NFD = "jose\u0301"


def _stored_before_names_were_normalised(db: Database, name: str, password: str = PASSWORD) -> None:
    with db.write() as session:
        session.add(User(name=name, role=Role.ADMIN.value, password_hash=PasswordHasher().hash(password)))


@pytest.mark.parametrize("first, second, stored", [(NFC, NFD, NFC), (NFD, NFC, NFC), ("\u212aim", "Kim", "Kim")],
                         ids=["nfc-then-nfd", "nfd-then-nfc", "kelvin-sign-then-k"])
def test_a_name_typed_another_way_is_the_same_user(db: Database, first: str, second: str, stored: str) -> None:
    added = users.add_user(db, ADMIN, first, Role.VIEWER, PASSWORD)
    assert added.name == stored
    with pytest.raises(UserError, match="already exists"):
        users.add_user(db, ADMIN, second, Role.ADMIN, "another long password")
    assert [u.name for u in users.list_users(db, ADMIN)] == [added.name]
    for typed in (first, second):  # a form sending either signs in as the one user
        assert users.sign_in(db, typed, PASSWORD).principal.name == added.name


def test_an_assignee_is_stored_in_one_form() -> None:
    assert clean_assignee(f" {NFD} ") == NFC


def test_wrong_passwords_in_either_form_count_together(db: Database) -> None:
    users.add_user(db, ADMIN, NFC, Role.AGENT, PASSWORD)
    for attempt in range(4):
        with pytest.raises(SignInFailed):
            users.sign_in(db, (NFC, NFD)[attempt % 2], f"guess {attempt}", POLICY)
    with pytest.raises(SignInLocked):
        users.sign_in(db, NFD, "guess 5", POLICY)


def test_a_user_stored_in_nfd_before_is_found_by_either_form(db: Database) -> None:
    _stored_before_names_were_normalised(db, NFD)
    users.add_user(db, ADMIN, "ana", Role.ADMIN, PASSWORD)  # the last admin is never demoted below
    assert users.sign_in(db, NFC, PASSWORD).principal.name == NFD
    assert users.sign_in(db, NFD, PASSWORD).principal.name == NFD
    with pytest.raises(UserError, match=r"already exists \(stored as 'jose\\u0301'"):
        users.add_user(db, ADMIN, NFC, Role.ADMIN, "another long password")
    for attempt in range(5):
        with pytest.raises(SignInFailed):
            users.sign_in(db, NFC, f"guess {attempt}", POLICY)
    users.reset_password(db, ADMIN, NFC, "a brand new password")  # lifts the lock-out counted under the name as stored
    assert users.sign_in(db, NFC, "a brand new password", POLICY).principal.name == NFD
    assert users.set_role(db, ADMIN, NFC, Role.VIEWER) == NFD


def test_two_users_stored_in_both_forms_before_can_each_still_be_named(db: Database) -> None:
    # Neither is taken for the other: each signs in, and is disabled, by the name exactly as stored.
    _stored_before_names_were_normalised(db, NFC, PASSWORD)
    _stored_before_names_were_normalised(db, NFD, "another long password")
    assert users.sign_in(db, NFD, "another long password").principal.name == NFD
    assert users.disable_user(db, ADMIN, NFD) == NFD
    assert users.sign_in(db, NFC, PASSWORD).principal.name == NFC
    with pytest.raises(SignInFailed):
        users.sign_in(db, NFD, "another long password")
