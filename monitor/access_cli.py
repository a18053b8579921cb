"""`mentiondesk user …` and `mentiondesk audit export`: run as the local operator (an admin, see monitor.access)."""

from __future__ import annotations

import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, TYPE_CHECKING

import click

from monitor import audit, users
from monitor.access import Role, local_operator
from monitor.cli_types import refuse_own_files

if TYPE_CHECKING:
    from monitor.cli import App

ROLES = click.Choice([r.value for r in Role])


def _password(from_stdin: bool) -> str:
    if from_stdin:
        # UTF-8 whatever stdin's encoding (cp1252 on a Windows pipe stored "ñ" as "Ã±"), less the byte-order mark
        # a file saved "UTF-8 with BOM" starts with. Bytes that are not UTF-8 (a Latin-1 file) are kept as
        # surrogates, for add_user and reset_password to refuse in words rather than a UnicodeDecodeError.
        line = sys.stdin.buffer.readline().decode("utf-8-sig", "surrogateescape")
        return line.rstrip("\r\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


@click.group("user")
def user_group() -> None:
    """Dashboard users: add, disable, enable, reset passwords, change roles, list."""


@user_group.command("add")
@click.argument("name")
@click.option("--role", type=ROLES, default=Role.AGENT.value, show_default=True,
              help="viewer: read; agent: triage and reply; admin: users, audit log, reply approval.")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of standard input.")
@click.option("--oidc", is_flag=True, help="No password: the user signs in through the configured identity provider.")
@click.pass_obj
def user_add(app: "App", name: str, role: str, password_stdin: bool, oidc: bool) -> None:
    """Add a dashboard user (prompts for the password)."""
    if oidc and password_stdin:
        raise click.UsageError("--oidc users have no password; leave out --password-stdin")
    password = None if oidc else _password(password_stdin)
    user = users.add_user(app.database(), local_operator(), name, Role(role), password)
    click.echo(f"added {user.name} ({role})")  # as stored: an --oidc address lower-cased


@user_group.command("disable")
@click.argument("name")
@click.pass_obj
def user_disable(app: "App", name: str) -> None:
    """Refuse NAME's sign-ins from now on and end their open sessions."""
    click.echo(f"disabled {users.disable_user(app.database(), local_operator(), name)}")


@user_group.command("enable")
@click.argument("name")
@click.pass_obj
def user_enable(app: "App", name: str) -> None:
    """Let a disabled user sign in again."""
    click.echo(f"enabled {users.enable_user(app.database(), local_operator(), name)}")


@user_group.command("reset-password")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of standard input.")
@click.pass_obj
def user_reset_password(app: "App", name: str, password_stdin: bool) -> None:
    """Set a new password for NAME, lift a lock-out and end their open sessions (not for --oidc users)."""
    db = app.database()
    users.require_password_user(db, local_operator(), name)  # before prompting for a password it would refuse
    users.reset_password(db, local_operator(), name, _password(password_stdin))
    click.echo(f"reset the password of {name}; their open sessions have ended")


@user_group.command("set-role")
@click.argument("name")
@click.argument("role", type=ROLES)
@click.pass_obj
def user_set_role(app: "App", name: str, role: str) -> None:
    """Change NAME's role (it applies to their open sessions at once)."""
    click.echo(f"{users.set_role(app.database(), local_operator(), name, Role(role))} is now {role}")


@user_group.command("list")
@click.pass_obj
def user_list(app: "App") -> None:
    """Every user with their role and state."""
    from monitor.text import terminal_safe

    for u in users.list_users(app.database(), local_operator()):
        state = f"disabled {u.disabled_at:%Y-%m-%d}" if u.disabled_at else "active"
        how = "password" if u.password_hash else "oidc"
        click.echo(f"{terminal_safe(u.name)}\t{u.role}\t{state}\t{how}")


@click.group("audit")
def audit_group() -> None:
    """The audit log."""


@audit_group.command("export")
@click.option("--output", "-o", type=click.Path(path_type=Path, dir_okay=False, allow_dash=True), default="-",
              callback=refuse_own_files, help="File to write (default: standard output).")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), help="Default: from the file name, else jsonl.")
@click.option("--since", type=click.DateTime(), help="Only entries at or after this UTC time.")
@click.pass_obj
def audit_export(app: "App", output: Path, fmt: str | None, since: datetime | None) -> None:
    """Export the audit log (oldest first) as JSONL or CSV; a file is replaced only once the export is complete."""
    from monitor.cli import _format_for
    from monitor.transfer import utf8_stdout, write_file_atomically

    fmt = _format_for(output, fmt, default="jsonl")
    since_utc = since.replace(tzinfo=timezone.utc) if since else None
    db = app.database()
    if str(output) == "-":
        with utf8_stdout() as out:
            count = audit.export(db, local_operator(), out, fmt, since_utc)  # type: ignore[arg-type]
    else:
        def write(out: IO[str]) -> int:
            return audit.export(db, local_operator(), out, fmt, since_utc)  # type: ignore[arg-type]

        count = write_file_atomically(output, write)
    click.echo(f"exported {count} audit entr{'y' if count == 1 else 'ies'}", err=True)


__all__ = ["audit_group", "user_group"]
