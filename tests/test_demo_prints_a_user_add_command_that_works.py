"""The demo's advice on adding users is a command that works as printed: with the demo's config, whose
secrets file (mode 0600, emulator-only secrets) gives every configured connector what it needs. Until
2026-12-07 it said `mentiondesk user add`, which found no config, and with `--config` stopped on the X token
the demo had put only in its own process's environment."""

from __future__ import annotations

import re
import shlex
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

import monitor.demo
from connectors.emulators import DEMO_SECRETS
from monitor import users
from monitor.access import local_operator
from monitor.cli import cli
from monitor.storage import Database


class _StopBeforeTheModel(Exception):
    """Ends the demo once it has written its home and printed its advice: loading the model is not needed here."""


def _demo_advice(home: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run the demo up to the model, as a user would, and return its `user add` command."""
    def stop(*args: object, **kwargs: object) -> None:
        raise _StopBeforeTheModel

    monkeypatch.setattr(monitor.demo.Pipeline, "from_config", stop)
    result = CliRunner().invoke(cli, ["demo", "--once", "--home", str(home)])
    assert isinstance(result.exception, _StopBeforeTheModel), result.output
    found = re.search(r"^add your own users with: (.+)$", result.output, re.M)
    assert found, result.output
    return found.group(1)


def _follow(advice: str, name: str) -> str:
    """Run the printed command with NAME replaced, in a shell with no MENTIONDESK_ secrets (tests/conftest.py)."""
    program, *args = shlex.split(advice.replace("NAME", name))
    assert Path(program).name == "mentiondesk"
    result = CliRunner().invoke(cli, args, input="a-long-enough-password\na-long-enough-password\n")
    assert result.exit_code == 0, result.output
    return result.output


def _user_names(home: Path) -> list[str]:
    db = Database.open(f"sqlite:///{home / 'demo.db'}")
    try:
        return sorted(user.name for user in users.list_users(db, local_operator()))
    finally:
        db.dispose()


def test_the_printed_user_add_command_adds_a_user_to_the_demo_database(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "my demo"  # a space: the command must quote the path
    advice = _demo_advice(home, monkeypatch)
    assert f"--config '{home / 'mentiondesk.toml'}'" in advice, advice
    assert "added ana (agent)" in _follow(advice, "ana")
    assert _user_names(home) == ["ana", "demo"]

    secrets_file = home / "emulator-secrets.env"
    assert stat.S_IMODE(secrets_file.stat().st_mode) == 0o600
    # Emulator-only: the made-up tokens and the local receiver's URL; none in the config itself.
    written = dict(line.split("=", 1) for line in secrets_file.read_text().splitlines() if not line.startswith("#"))
    emulator_values = {value for values in DEMO_SECRETS.values() for value in values.values()}
    assert {v for k, v in written.items() if k != "MENTIONDESK_ALERT_DEMO_CHAT_URL"} <= emulator_values
    assert written["MENTIONDESK_ALERT_DEMO_CHAT_URL"].startswith("json://127.0.0.1:")
    assert "emulator-x-bearer-token" not in (home / "mentiondesk.toml").read_text()

    # A second demo run on the same home rewrites its files and keeps its database; the advice still works.
    advice = _demo_advice(home, monkeypatch)
    assert stat.S_IMODE(secrets_file.stat().st_mode) == 0o600
    assert "added ben (agent)" in _follow(advice, "ben")
    assert _user_names(home) == ["ana", "ben", "demo"]


def test_a_secrets_file_without_the_demos_config_is_refused_and_kept(tmp_path: Path) -> None:
    secrets_file = tmp_path / "emulator-secrets.env"
    secrets_file.write_text("MENTIONDESK_X_BEARER_TOKEN=a-real-one\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["demo", "--once", "--home", str(tmp_path)])
    assert result.exit_code == 1 and "is there without a config written by `mentiondesk demo`" in result.output
    assert secrets_file.read_text(encoding="utf-8") == "MENTIONDESK_X_BEARER_TOKEN=a-real-one\n"
