"""No user name can pass for another's through its spaces or a blank-looking character: "ana\u00a0lopez" and
"ana  lopez" are "ana lopez", and a braille blank or a line separator is refused like an invisible character.
A user stored before with such spaces is still found, and keeps their assignments."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from monitor import triage, users
from monitor.access import Principal, Role
from monitor.models import User
from monitor.queue import QueueFilters, count
from monitor.storage import Database
from monitor.triage import TriageError, clean_assignee
from monitor.users import SignInFailed, SignInLocked, UserError
from tests.principals import ADMIN
from tests.test_dashboard_fixtures import add_brand, add_mention
from tests.test_users import PASSWORD, POLICY

NO_BREAK = "ana\u00a0lopez"


@pytest.mark.parametrize("name", ["ana\u2800", "\u2800", "ana\U0001d159", "ana\U00016fe4", "ana\u2028admin",
                                  "ana\u2029admin"],
                         ids=["braille-blank-after", "braille-blank-alone", "null-notehead", "khitan-filler",
                              "line-separator", "paragraph-separator"])
def test_a_blank_looking_or_line_breaking_character_is_refused_in_a_name_and_an_assignee(
        db: Database, name: str) -> None:
    with pytest.raises(UserError, match="without control or invisible characters"):
        users.add_user(db, ADMIN, name, Role.AGENT, PASSWORD)
    with pytest.raises(TriageError, match="without control or invisible characters"):
        clean_assignee(name)


@pytest.mark.parametrize("look_alike", [NO_BREAK, "ana  lopez", "ana\u3000lopez", "ana \u2009lopez"],
                         ids=["no-break-space", "two-spaces", "ideographic-space", "space-and-thin-space"])
def test_a_name_with_other_spaces_is_the_same_user(db: Database, look_alike: str) -> None:
    added = users.add_user(db, ADMIN, look_alike, Role.AGENT, PASSWORD)
    assert added.name == "ana lopez"  # stored with one plain space
    with pytest.raises(UserError, match="a user named 'ana lopez' already exists"):
        users.add_user(db, ADMIN, "ana lopez", Role.ADMIN, "another long password")
    assert users.sign_in(db, look_alike, PASSWORD).principal.name == "ana lopez"


def test_wrong_passwords_typed_with_other_spaces_count_together(db: Database) -> None:
    users.add_user(db, ADMIN, "ana lopez", Role.AGENT, PASSWORD)
    for attempt, typed in enumerate(["ana lopez", NO_BREAK, "ana  lopez", "ana\u2002lopez"]):
        with pytest.raises(SignInFailed):
            users.sign_in(db, typed, f"guess {attempt}", POLICY)
    with pytest.raises(SignInLocked):
        users.sign_in(db, "ana   lopez", "guess 5", POLICY)


def test_a_user_stored_before_with_a_no_break_space_is_found_and_keeps_their_assignments(db: Database) -> None:
    with db.write() as session:
        session.add(User(name=NO_BREAK, role=Role.AGENT.value, password_hash=PasswordHasher().hash(PASSWORD)))
    users.add_user(db, ADMIN, "boss", Role.ADMIN, PASSWORD)
    assert users.sign_in(db, NO_BREAK, PASSWORD).principal.name == NO_BREAK
    assert users.sign_in(db, "ana lopez", PASSWORD).principal.name == NO_BREAK
    assert users.set_role(db, ADMIN, "ana lopez", Role.ADMIN) == NO_BREAK
    with pytest.raises(UserError, match=r"already exists \(stored as 'ana\\xa0lopez'"):
        users.add_user(db, ADMIN, "ana lopez", Role.AGENT, PASSWORD)
    # "Assign to me" stores their name as it is, so their own filter ("Mine") still finds what they took.
    mention = add_mention(db, brand_id=add_brand(db, "Acme"), status="new", priority=50.0)
    triage.assign(db, [mention], NO_BREAK, Principal(NO_BREAK, Role.AGENT))
    with db.read() as session:
        assert count(session, QueueFilters(statuses=(), assignee=NO_BREAK)) == (1, False)
