"""Who may do what: a signed-in :class:`Principal` (name + role) and the checks the services make.

Roles, each including the ones before it:

* ``viewer``: reads the queue, analytics and alerts;
* ``agent``: triages and replies;
* ``admin``: manages users, reads and exports the audit log, and approves replies on brands with
  ``reply_approval = true`` (the approver role).

Services take the principal as their ``actor`` argument and call :func:`require` before changing
anything, so a hidden button is never the only guard. The CLI runs as the local operator
(:func:`local_operator`): whoever can run it can read the config and the database already.
"""

from __future__ import annotations

import enum
import getpass
import logging
from dataclasses import dataclass

from monitor.errors import AccessDenied
from monitor.text import terminal_safe

log = logging.getLogger(__name__)


class Role(str, enum.Enum):
    VIEWER = "viewer"
    AGENT = "agent"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return list(Role).index(self)


# Replies on a brand that requires approval need a go-ahead from someone with this role.
APPROVER = Role.ADMIN


@dataclass(frozen=True)
class Principal:
    """A signed-in user (or the local CLI operator); ``name`` is what the audit log records."""

    name: str
    role: Role

    def has(self, role: Role) -> bool:
        return self.role.rank >= role.rank


def require(actor: object, role: Role, action: str = "this") -> Principal:
    """``actor`` if it is a principal with at least ``role``; else :class:`AccessDenied`.

    A bare name is refused too: only a signed-in principal (or the CLI's) can act.
    """
    if not isinstance(actor, Principal):
        raise AccessDenied(f"{action} needs a signed-in user")
    if not actor.has(role):
        log.warning("refused %s to %s (%s; needs %s)", action, terminal_safe(actor.name, 200), actor.role.value, role.value)
        raise AccessDenied(f"{action} needs the {role.value} role; {actor.name} is a {actor.role.value}")
    return actor


# The CLI's actor names start so; no user may be named so (monitor.users).
LOCAL_OPERATOR_PREFIX = "cli:"


def local_operator() -> Principal:
    """The CLI's actor: an admin named after the OS account (``cli:alice``), so the audit log says who."""
    try:
        account = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (e.g. some containers)
        account = "unknown"
    return Principal(f"{LOCAL_OPERATOR_PREFIX}{account}", Role.ADMIN)


__all__ = ["APPROVER", "LOCAL_OPERATOR_PREFIX", "Principal", "Role", "local_operator", "require"]
