"""What the `user` commands take: names without invisible characters (assignees too), a single sign-on
user's address in the case it was typed, and a password that is not UTF-8 refused in words."""

from __future__ import annotations

from pathlib import Path

import pytest
from argon2 import PasswordHasher
from click.testing import CliRunner, Result

from monitor import users
from monitor.access import Role
from monitor.cli import cli
from monitor.errors import NotFound
from monitor.models import User
from monitor.storage import Database
from monitor.triage import TriageError, clean_assignee
from monitor.users import UserError
from tests.principals import ADMIN
from tests.test_users import PASSWORD, _config

# Each shows nothing: "an\u2060a" is "ana" on every page and in the audit log.
INVISIBLE = ["\u2060", "\u00ad", "\u180e", "\ufe0f", "\u034f", "\u3164", "\u115f", "\U000e0061", "\u2063", "\u0600"]


@pytest.mark.parametrize("invisible", INVISIBLE, ids=lambda ch: f"U+{ord(ch):04X}")
def test_names_and_assignees_with_invisible_characters_are_refused(sqlite_db: Database, invisible: str) -> None:
    users.add_user(sqlite_db, ADMIN, "ana", Role.ADMIN, PASSWORD)
    with pytest.raises(UserError, match="without control or invisible characters"):
        users.add_user(sqlite_db, ADMIN, f"an{invisible}a", Role.ADMIN, PASSWORD)
    with pytest.raises(TriageError, match="without control or invisible characters"):
        clean_assignee(f"an{invisible}a")


def test_an_emoji_drawn_as_an_emoji_may_end_a_name(sqlite_db: Database) -> None:
    # U+FE0F after a symbol only asks for the colour emoji: "Ana ❤️" was a user that could not be assigned.
    assert users.add_user(sqlite_db, ADMIN, "Ana \u2764\ufe0f", Role.AGENT, PASSWORD).name == "Ana \u2764\ufe0f"
    assert clean_assignee("Ana \u2764\ufe0f") == "Ana \u2764\ufe0f"
    with pytest.raises(TriageError):
        clean_assignee("Ana\ufe0f")  # after a letter it draws nothing


def test_a_name_stored_before_the_invisible_characters_rule_still_signs_in(sqlite_db: Database) -> None:
    with sqlite_db.write() as session:
        session.add(User(name="ana\u2060", role=Role.ADMIN.value, password_hash=PasswordHasher().hash(PASSWORD)))
    assert users.sign_in(sqlite_db, "ana\u2060", PASSWORD).principal.name == "ana\u2060"
    users.add_user(sqlite_db, ADMIN, "ben", Role.ADMIN, PASSWORD)
    assert users.disable_user(sqlite_db, ADMIN, "ana\u2060") == "ana\u2060"


def _cli(config: Path, *args: str, stdin: str | bytes | None = None) -> Result:
    return CliRunner().invoke(cli, ["--config", str(config), *args], input=stdin)


def test_a_single_sign_on_user_is_managed_by_the_address_as_the_admin_typed_it(tmp_path: Path) -> None:
    config = _config(tmp_path)
    # Stored lower-cased (providers differ in the case they send), and the commands say so.
    assert _cli(config, "user", "add", "Lead@Example.com", "--role", "admin", "--oidc").output == (
        "added lead@example.com (admin)\n")
    assert _cli(config, "user", "add", "ana", "--role", "admin", "--password-stdin",
                stdin=PASSWORD + "\n").exit_code == 0
    assert _cli(config, "user", "set-role", "Lead@Example.com", "agent").output == "lead@example.com is now agent\n"
    assert _cli(config, "user", "disable", "Lead@Example.com").output == "disabled lead@example.com\n"
    assert _cli(config, "user", "enable", "LEAD@example.com").output == "enabled lead@example.com\n"
    assert _cli(config, "user", "list").output.splitlines() == [
        "ana\tadmin\tactive\tpassword", "lead@example.com\tagent\tactive\toidc"]
    assert _cli(config, "user", "reset-password", "Lead@Example.com").output == (
        "Error: lead@example.com signs in through single sign-on (OIDC) only and has no password to reset\n")


def test_a_password_users_name_is_matched_exactly(db: Database) -> None:
    users.add_user(db, ADMIN, "ana@example.com", Role.AGENT, PASSWORD)  # a password user named by an address
    for other_case in ("Ana@Example.com", "ANA@EXAMPLE.COM"):
        with pytest.raises(NotFound, match="no user named"):
            users.disable_user(db, ADMIN, other_case)


@pytest.mark.parametrize("command", [["user", "add", "ben"], ["user", "reset-password", "ana"]],
                         ids=["add", "reset-password"])
def test_a_password_that_is_not_utf8_is_refused_in_words(tmp_path: Path, command: list[str]) -> None:
    config = _config(tmp_path)
    assert _cli(config, "user", "add", "ana", "--role", "admin", "--password-stdin",
                stdin=PASSWORD + "\n").exit_code == 0
    refused = _cli(config, *command, "--password-stdin", stdin="café au lait, long enough\n".encode("latin-1"))
    assert (refused.exit_code, refused.output) == (1, "Error: a password must be text: this one holds bytes that "
                                                      "are not UTF-8 (save it as UTF-8 and try again)\n")
    assert _cli(config, "user", "list").output.splitlines() == ["ana\tadmin\tactive\tpassword"]
    db = Database.open(f"sqlite:///{tmp_path / 'cli.db'}")
    assert users.sign_in(db, "ana", PASSWORD).principal.name == "ana"  # the old password still works
    db.dispose()
