"""The `user` commands refuse, in one line, a name no users row can hold (too long, a NUL, a lone surrogate
from a shell with a bad locale): those naming an existing user failed with a traceback or a database error."""

from __future__ import annotations

from pathlib import Path

import pytest
from argon2 import PasswordHasher

from monitor.access import Role
from monitor.models import User
from monitor.storage import Database
from monitor.users import MAX_NAME_LENGTH
from tests.test_users import PASSWORD
from tests.test_users_names import _cli

REFUSED = f"Error: a user name is 1 to {MAX_NAME_LENGTH} characters without control or invisible characters\n"
UNSTORABLE = ["a" * (MAX_NAME_LENGTH + 1), "an\x00a", "an\udc80a"]
COMMANDS = [["add", "{}", "--password-stdin"], ["disable", "{}"], ["enable", "{}"],
            ["reset-password", "{}", "--password-stdin"], ["set-role", "{}", "viewer"]]


@pytest.fixture
def config(db: Database, database_url: str, tmp_path: Path) -> Path:
    path = tmp_path / "mentiondesk.toml"
    path.write_text(f'[database]\nurl = "{database_url}"\n[[brands]]\nname = "Acme"\nkeywords = ["acme"]\n'
                    '[connectors.sample]\n', encoding="utf-8")
    assert _cli(path, "user", "add", "ana", "--role", "admin", "--password-stdin",
                stdin=PASSWORD + "\n").exit_code == 0
    return path


@pytest.mark.parametrize("name", UNSTORABLE, ids=["too-long", "nul", "lone-surrogate"])
def test_a_name_no_user_can_have_is_refused_in_one_line_by_every_user_command(config: Path, name: str) -> None:
    for command in COMMANDS:
        result = _cli(config, "user", *[name if arg == "{}" else arg for arg in command], stdin=PASSWORD + "\n")
        assert (result.exit_code, result.output) == (1, REFUSED), command[0]
    assert _cli(config, "user", "list").output.splitlines() == ["ana\tadmin\tactive\tpassword"]


def test_a_name_stored_before_the_invisible_characters_rule_is_still_managed(db: Database, config: Path) -> None:
    with db.write() as session:
        session.add(User(name="ben\u2060", role=Role.AGENT.value, password_hash=PasswordHasher().hash(PASSWORD)))
    assert _cli(config, "user", "disable", "ben\u2060").output == "disabled ben\u2060\n"
