"""Users and sign-in: argon2 hashes, sessions that expire and end, slow-down and lock-out after failed
sign-ins (shared by every process through the database), the `mentiondesk user` and `audit` commands."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from monitor import audit, users
from monitor.access import Principal, Role
from monitor.cli import cli
from monitor.models import AuditEntry, SignInFailure, User, utcnow
from monitor.storage import Database
from monitor.users import AuthPolicy, SignInFailed, SignInLocked, UserError
from tests.principals import ADMIN

PASSWORD = "correct horse battery staple"
POLICY = AuthPolicy(max_failures=5, lockout=timedelta(seconds=30), max_lockout=timedelta(minutes=15))


def test_passwords_are_stored_as_argon2_hashes_and_checked(db: Database) -> None:
    users.add_user(db, ADMIN, "ana", Role.AGENT, PASSWORD)
    with db.read() as session:
        stored = session.scalar(select(User.password_hash).where(User.name == "ana"))
    assert stored is not None and stored.startswith("$argon2id$") and PASSWORD not in stored
    signed = users.sign_in(db, "ana", PASSWORD)
    assert signed.principal == Principal("ana", Role.AGENT)
    assert users.resume(db, signed.token) == Principal("ana", Role.AGENT)
    with pytest.raises(SignInFailed, match="wrong user name or password"):
        users.sign_in(db, "ana", PASSWORD + "!")
    with pytest.raises(SignInFailed, match="wrong user name or password"):
        users.sign_in(db, "nobody", PASSWORD)  # the same answer: names are not revealed


def test_bad_names_passwords_and_roles_are_refused(db: Database) -> None:
    with pytest.raises(UserError, match="at least 10 characters"):
        users.add_user(db, ADMIN, "ana", Role.AGENT, "short")
    for bad in ("an\u202ea", "an\ud800a"):  # a lone surrogate cannot even be encoded to store it
        with pytest.raises(UserError, match="control or invisible"):
            users.add_user(db, ADMIN, bad, Role.AGENT, PASSWORD)
    with pytest.raises(UserError, match="unknown role"):
        users.parse_role("owner")
    users.add_user(db, ADMIN, "ana", Role.AGENT, PASSWORD)
    with pytest.raises(UserError, match="already exists"):
        users.add_user(db, ADMIN, " ana ", Role.VIEWER, PASSWORD)


def test_repeated_wrong_passwords_lock_the_name_then_back_off_longer(db: Database) -> None:
    users.add_user(db, ADMIN, "ana", Role.AGENT, PASSWORD)
    t0 = utcnow()
    for attempt in range(4):
        with pytest.raises(SignInFailed) as failed:
            users.sign_in(db, "ana", f"guess {attempt}", POLICY, now=t0)
        assert not isinstance(failed.value, SignInLocked)
    with pytest.raises(SignInLocked, match="try again in 30 s"):
        users.sign_in(db, "ana", "guess 5", POLICY, now=t0)
    # While locked even the right password is refused, without being checked.
    with pytest.raises(SignInLocked):
        users.sign_in(db, "ana", PASSWORD, POLICY, now=t0 + timedelta(seconds=29))
    # After the lock one more wrong guess locks it for twice as long.
    with pytest.raises(SignInLocked, match="try again in 60 s"):
        users.sign_in(db, "ana", "guess 6", POLICY, now=t0 + timedelta(seconds=31))
    assert users.sign_in(db, "ana", PASSWORD, POLICY, now=t0 + timedelta(seconds=92)).principal.name == "ana"
    # Success clears the count: the next wrong password is a first failure again.
    with pytest.raises(SignInFailed) as failed:
        users.sign_in(db, "ana", "oops", POLICY, now=t0 + timedelta(seconds=93))
    assert not isinstance(failed.value, SignInLocked)
    with db.read() as session:
        failures = [e.details for e in session.scalars(select(AuditEntry).where(AuditEntry.action == "auth.failed")
                                                        .order_by(AuditEntry.id))]
    assert [f["failures"] for f in failures] == [1, 2, 3, 4, 5, 6, 1]
    assert [f["locked_seconds"] for f in failures][4:6] == [30.0, 60.0]


def test_lock_outs_double_up_to_a_cap_for_unknown_names_too(db: Database) -> None:
    now, locks = utcnow(), []
    for attempt in range(12):  # each guess right after the previous lock-out ends
        try:
            users.sign_in(db, "ghost", f"guess {attempt}", POLICY, now=now)
        except SignInLocked as exc:
            locks.append(exc.retry_after.total_seconds())
            now += exc.retry_after + timedelta(seconds=1)
        except SignInFailed:
            now += timedelta(seconds=1)
    assert locks == [30, 60, 120, 240, 480, 900, 900, 900]
    # Quiet for longer than the window after the lock-out: the count starts again.
    with pytest.raises(SignInFailed) as fresh:
        users.sign_in(db, "ghost", "later", POLICY, now=now + timedelta(minutes=16))
    assert not isinstance(fresh.value, SignInLocked)
    with db.write() as session:  # guessed for days: 30 s * 2 ** 95 would overflow, the cap must hold
        session.get_one(SignInFailure, "ghost").failures = 100
    with pytest.raises(SignInLocked) as capped:
        users.sign_in(db, "ghost", "guess 101", POLICY, now=now + timedelta(minutes=17))
    assert capped.value.retry_after == timedelta(minutes=15)


def test_a_lock_out_holds_in_another_process(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    db = Database.open(url)
    db.upgrade()
    users.add_user(db, ADMIN, "ana", Role.AGENT, PASSWORD)
    for attempt in range(5):
        with pytest.raises(SignInFailed):
            users.sign_in(db, "ana", f"guess {attempt}")
    db.dispose()
    script = ("import sys\nfrom monitor.storage import Database\nfrom monitor import users\n"
              f"db = Database.open({url!r})\n"
              f"try:\n    users.sign_in(db, 'ana', {PASSWORD!r})\nexcept users.SignInLocked as exc:\n"
              "    print('locked:', exc)\n    sys.exit(3)\n")
    other = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert other.returncode == 3, other.stderr
    assert "too many failed sign-ins" in other.stdout


def test_sessions_expire_and_end_on_sign_out_disable_and_password_reset(db: Database) -> None:
    users.add_user(db, ADMIN, "ana", Role.AGENT, PASSWORD)
    t0 = utcnow()
    short = AuthPolicy(session_lifetime=timedelta(hours=1))
    expiring = users.sign_in(db, "ana", PASSWORD, short, now=t0)
    assert users.resume(db, expiring.token, now=t0 + timedelta(minutes=59)) is not None
    assert users.resume(db, expiring.token, now=t0 + timedelta(minutes=61)) is None
    assert users.resume(db, "forged-token") is None and users.resume(db, None) is None

    first = users.sign_in(db, "ana", PASSWORD)
    users.sign_out(db, first.token)
    assert users.resume(db, first.token) is None

    second = users.sign_in(db, "ana", PASSWORD)
    users.set_role(db, ADMIN, "ana", Role.VIEWER)
    assert users.resume(db, second.token) == Principal("ana", Role.VIEWER)  # a new role applies at once
    users.reset_password(db, ADMIN, "ana", "a brand new password")
    assert users.resume(db, second.token) is None

    third = users.sign_in(db, "ana", "a brand new password")
    users.disable_user(db, ADMIN, "ana")
    assert users.resume(db, third.token) is None
    with pytest.raises(SignInFailed):
        users.sign_in(db, "ana", "a brand new password")
    users.enable_user(db, ADMIN, "ana")
    assert users.sign_in(db, "ana", "a brand new password").principal.role is Role.VIEWER


def test_the_last_active_admin_cannot_be_demoted_or_disabled(db: Database) -> None:
    users.add_user(db, ADMIN, "root", Role.ADMIN, PASSWORD)
    with pytest.raises(UserError, match="last active admin"):
        users.set_role(db, ADMIN, "root", Role.AGENT)
    with pytest.raises(UserError, match="last active admin"):
        users.disable_user(db, ADMIN, "root")
    users.add_user(db, ADMIN, "second", Role.ADMIN, PASSWORD)
    users.disable_user(db, ADMIN, "root")


def test_reset_password_lifts_a_lock_out(db: Database) -> None:
    users.add_user(db, ADMIN, "ana", Role.AGENT, PASSWORD)
    for attempt in range(5):
        with pytest.raises(SignInFailed):
            users.sign_in(db, "ana", f"guess {attempt}")
    users.reset_password(db, ADMIN, "ana", "a brand new password")
    assert users.sign_in(db, "ana", "a brand new password").principal.name == "ana"


def test_oidc_users_sign_in_only_through_the_provider(db: Database) -> None:
    users.add_user(db, ADMIN, "ana@example.com", Role.AGENT, None)
    with pytest.raises(SignInFailed):
        users.sign_in(db, "ana@example.com", "")  # no password to match
    assert users.sign_in_external(db, "ana@example.com").principal == Principal("ana@example.com", Role.AGENT)
    with pytest.raises(SignInFailed, match="not a mentiondesk user"):
        users.sign_in_external(db, "eve@example.com")
    # The address whatever the case the admin typed or the provider sends it in.
    users.add_user(db, ADMIN, "Lead@Example.com", Role.ADMIN, None)
    assert users.sign_in_external(db, "LEAD@example.COM").principal == Principal("lead@example.com", Role.ADMIN)
    with pytest.raises(UserError, match="already exists"):
        users.add_user(db, ADMIN, "ANA@example.com", Role.AGENT, None)


def test_an_oidc_user_must_be_named_by_an_email_address(db: Database, tmp_path: Path) -> None:
    for name in ("ed", "ed@", "@example.com", "ed smith@example.com"):
        with pytest.raises(UserError, match="is not an email address"):
            users.add_user(db, ADMIN, name, Role.AGENT, None)
    users.add_user(db, ADMIN, "ed", Role.AGENT, PASSWORD)  # a password user's name is any name
    config = _config(tmp_path)
    refused = CliRunner().invoke(cli, ["--config", str(config), "user", "add", "ben", "--oidc"])
    assert refused.exit_code == 1
    assert refused.output == ("Error: 'ben' is not an email address: a single sign-on (OIDC) user is named by the "
                              "email the identity provider vouches for, e.g. ana@example.com\n")
    added = CliRunner().invoke(cli, ["--config", str(config), "user", "add", "ben@example.com", "--oidc"])
    assert added.exit_code == 0, added.output
    listed = CliRunner().invoke(cli, ["--config", str(config), "user", "list"])
    assert listed.output.splitlines() == ["ben@example.com\tagent\tactive\toidc"]


def test_an_oidc_users_password_cannot_be_reset(db: Database, tmp_path: Path) -> None:
    users.add_user(db, ADMIN, "lead@example.com", Role.ADMIN, None)
    with pytest.raises(UserError, match="signs in through single sign-on"):
        users.reset_password(db, ADMIN, "lead@example.com", "a brand new password")
    with pytest.raises(UserError, match="signs in through single sign-on"):
        users.reset_password(db, ADMIN, "lead@example.com", "short")  # the refusal, not the password's length
    with pytest.raises(SignInFailed):
        users.sign_in(db, "lead@example.com", "a brand new password")
    with db.read() as session:
        assert session.scalar(select(User.password_hash).where(User.name == "lead@example.com")) is None
    config = _config(tmp_path)
    run = CliRunner().invoke
    assert run(cli, ["--config", str(config), "user", "add", "lead@example.com", "--oidc"]).exit_code == 0
    # Refused before the password prompt: nothing is asked for, nothing is read.
    reset = run(cli, ["--config", str(config), "user", "reset-password", "lead@example.com"])
    assert reset.exit_code == 1
    assert reset.output == ("Error: lead@example.com signs in through single sign-on (OIDC) only and has no "
                            "password to reset\n")
    listed = run(cli, ["--config", str(config), "user", "list"])
    assert listed.output.splitlines() == ["lead@example.com\tagent\tactive\toidc"]


def test_names_are_case_sensitive_as_sign_in_is(db: Database) -> None:
    # Sign-in matches the name exactly, so "ANA" is another user, with a lock-out count of its own.
    users.add_user(db, ADMIN, "ana", Role.AGENT, PASSWORD)
    users.add_user(db, ADMIN, "ANA", Role.VIEWER, "another long password")
    assert users.sign_in(db, "ANA", "another long password").principal == Principal("ANA", Role.VIEWER)
    with pytest.raises(SignInFailed):
        users.sign_in(db, "ANA", PASSWORD)


def _config(tmp_path: Path) -> Path:
    config = tmp_path / "mentiondesk.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "cli.db"}"\n[[brands]]\nname = "Acme"\n'
                      'keywords = ["acme"]\n[connectors.sample]\n', encoding="utf-8")
    return config


def test_user_commands_run_as_the_audited_local_operator(tmp_path: Path) -> None:
    config = _config(tmp_path)
    run = CliRunner().invoke
    added = run(cli, ["--config", str(config), "user", "add", "ana", "--role", "admin", "--password-stdin"],
                input=PASSWORD + "\n")
    assert added.exit_code == 0, added.output
    assert PASSWORD not in added.output
    assert run(cli, ["--config", str(config), "user", "add", "ben", "--password-stdin"], input="short\n").exit_code == 1
    listed = run(cli, ["--config", str(config), "user", "list"])
    assert listed.output.splitlines() == ["ana\tadmin\tactive\tpassword"]
    assert run(cli, ["--config", str(config), "user", "disable", "ana"]).output.startswith("Error: ana is the last")
    assert run(cli, ["--config", str(config), "user", "reset-password", "ana", "--password-stdin"],
               input="another long password\n").exit_code == 0
    exported = run(cli, ["--config", str(config), "audit", "export", "--format", "jsonl"])
    assert exported.exit_code == 0, exported.output
    rows = [json.loads(line) for line in exported.stdout.splitlines() if line.startswith("{")]
    assert [r["action"] for r in rows] == ["user.add", "user.reset_password", "audit.export"]
    assert all(r["actor"].startswith("cli:") for r in rows)
    db = Database.open(f"sqlite:///{tmp_path / 'cli.db'}")
    assert users.sign_in(db, "ana", "another long password").principal.role is Role.ADMIN
    with db.read() as session:
        assert audit.entries(session, ADMIN, limit=1)[0].action == "auth.sign_in"
    db.dispose()


def test_audit_csv_export_defuses_formulas(db: Database, tmp_path: Path) -> None:
    import csv
    import io

    for name in ("=HYPERLINK(\"http://evil\")", "+cmd|' /C calc'!A0"):
        with pytest.raises(SignInFailed):
            users.sign_in(db, name, "wrong password")
    out = io.StringIO()
    assert audit.export(db, ADMIN, out, "csv") == 3  # the two failures, then the export itself
    actors = [row["actor"] for row in csv.DictReader(io.StringIO(out.getvalue()))]
    assert actors == ["'=HYPERLINK(\"http://evil\")", "'+cmd|' /C calc'!A0", "ada"]
