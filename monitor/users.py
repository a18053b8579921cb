"""Dashboard users: argon2-hashed passwords, sign-in sessions, and slow-down after failed sign-ins.

Failed sign-ins are counted per typed name in the database (known names or not, so the answer
never tells which names exist), so every dashboard process sees the same count: after
``max_failures`` in a row the name is locked for ``lockout``, doubling with each further failure up
to ``max_lockout``. Only a SHA-256 of each session token is stored; a session ends at its expiry,
on sign-out, or when its user is disabled or gets a new password. The role is read on every
resume, so a changed role applies at once.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from monitor import audit
from monitor.access import Principal, Role, require
from monitor.backoff import doubled
from monitor.errors import MentiondeskError, NotFound
from monitor.ingest import dialect_insert
from monitor.models import SignInFailure, User, UserSession, utcnow
from monitor.storage import Database

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024  # argon2 hashes any length; this bounds the work one request can ask for
MAX_NAME_LENGTH = 200
_NAME = re.compile(r"^[^\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff\ud800-\udfff]+$")
# An OIDC user is matched by the email address the identity provider vouches for (sign_in_external),
# so any other name could never sign in. Only the shape is checked: the provider owns the address.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")

_hasher = PasswordHasher()  # argon2id with the library's RFC 9106 defaults


class UserError(MentiondeskError):
    """A user cannot be added or changed as asked (bad name, weak password, unknown role, last admin)."""


class SignInFailed(MentiondeskError):
    """Wrong name or password (never says which)."""


class SignInLocked(SignInFailed):
    """Too many failed sign-ins for this name; try again after ``retry_after``."""

    def __init__(self, retry_after: timedelta) -> None:
        self.retry_after = retry_after
        seconds = max(1, round(retry_after.total_seconds()))
        super().__init__(f"too many failed sign-ins: try again in {seconds} s")


@dataclass(frozen=True)
class AuthPolicy:
    session_lifetime: timedelta = timedelta(hours=12)
    max_failures: int = 5
    lockout: timedelta = timedelta(seconds=30)
    max_lockout: timedelta = timedelta(minutes=15)
    # Failures further apart than this (counted from the end of a lock-out) start the count again.
    failure_window: timedelta = timedelta(minutes=15)


@dataclass(frozen=True)
class SignedIn:
    principal: Principal
    token: str  # give to resume(); kept only in the browser session
    expires_at: datetime


def parse_role(value: str) -> Role:
    try:
        return Role(value.strip().lower())
    except ValueError:
        raise UserError(f"unknown role {value!r}; use one of {', '.join(r.value for r in Role)}") from None


def clean_name(name: str) -> str:
    """A user name as stored (also an assignee): stripped; UserError if empty, too long, or holding control,
    invisible or unencodable (lone surrogate) characters."""
    name = name.strip()
    if not name or len(name) > MAX_NAME_LENGTH or not _NAME.match(name):
        raise UserError(f"a user name is 1 to {MAX_NAME_LENGTH} characters without control or invisible characters")
    return name


def _hash(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise UserError(f"a password can be at most {MAX_PASSWORD_LENGTH} characters")
    return _hasher.hash(password)


@lru_cache(maxsize=1)
def _decoy_hash() -> str:
    # Verified against for unknown or disabled names, so they take as long as a real user's check.
    return _hasher.hash(secrets.token_hex(16))


def _verify(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _decoy_hash(), password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def _user(session: Session, name: str) -> User:
    user = session.scalar(select(User).where(User.name == name.strip()))
    if user is None:
        raise NotFound(f"no user named {name.strip()!r}")
    return user


def _active_admins(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(User)
                          .where(User.role == Role.ADMIN.value, User.disabled_at.is_(None))) or 0


def _end_sessions(session: Session, user_id: int) -> None:
    session.execute(delete(UserSession).where(UserSession.user_id == user_id))


# -- administration (admins only) -----------------------------------------------------------------

def add_user(db: Database, actor: Principal, name: str, role: Role, password: str | None) -> User:
    """Add a user; ``password`` None makes one who can only sign in through OIDC."""
    require(actor, Role.ADMIN, "adding users")
    name = clean_name(name)
    if password is None:
        if not _EMAIL.match(name):
            raise UserError(f"{name!r} is not an email address: a single sign-on (OIDC) user is named by the email "
                            "the identity provider vouches for, e.g. ana@example.com")
        name = name.lower()  # providers differ in the case they send an address in (see sign_in_external)
    password_hash = _hash(password) if password is not None else None
    with db.write() as session:
        if session.scalar(select(User.id).where(User.name == name)) is not None:
            raise UserError(f"a user named {name!r} already exists")
        user = User(name=name, role=role.value, password_hash=password_hash,
                    password_changed_at=utcnow() if password_hash else None)
        session.add(user)
        audit.record(session, actor.name, "user.add", user=name, role=role.value)
        return user


def list_users(db: Database, actor: Principal) -> list[User]:
    require(actor, Role.ADMIN, "listing users")
    with db.read() as session:
        return list(session.scalars(select(User).order_by(User.name)))


def set_role(db: Database, actor: Principal, name: str, role: Role) -> None:
    require(actor, Role.ADMIN, "changing roles")
    with db.write() as session:
        user = _user(session, name)
        if user.role == Role.ADMIN.value and role is not Role.ADMIN and user.disabled_at is None \
                and _active_admins(session) <= 1:
            raise UserError(f"{user.name} is the last active admin; make someone else admin first")
        audit.record(session, actor.name, "user.role", user=user.name, before=user.role, after=role.value)
        user.role = role.value


def disable_user(db: Database, actor: Principal, name: str) -> None:
    """Refuse the user's sign-ins from now on and end their open sessions."""
    require(actor, Role.ADMIN, "disabling users")
    with db.write() as session:
        user = _user(session, name)
        if user.disabled_at is not None:
            raise UserError(f"{user.name} is already disabled")
        if user.role == Role.ADMIN.value and _active_admins(session) <= 1:
            raise UserError(f"{user.name} is the last active admin; make someone else admin first")
        user.disabled_at = utcnow()
        _end_sessions(session, user.id)
        audit.record(session, actor.name, "user.disable", user=user.name)


def enable_user(db: Database, actor: Principal, name: str) -> None:
    require(actor, Role.ADMIN, "enabling users")
    with db.write() as session:
        user = _user(session, name)
        if user.disabled_at is None:
            raise UserError(f"{user.name} is not disabled")
        user.disabled_at = None
        audit.record(session, actor.name, "user.enable", user=user.name)


def require_password_user(db: Database, actor: Principal, name: str) -> None:
    """Check that ``name`` is a user who signs in with a password, before asking for a new one.

    A user added for single sign-on only stays that way: a password would open a second way in that
    the identity provider (its MFA, its off-boarding) does not control. Nothing gives such a user a
    password later, so this check holds for the write that follows it.
    """
    require(actor, Role.ADMIN, "resetting passwords")
    with db.read() as session:
        user = _user(session, name)
        if user.password_hash is None:
            raise UserError(f"{user.name} signs in through single sign-on (OIDC) only and has no password to reset")


def reset_password(db: Database, actor: Principal, name: str, password: str) -> None:
    """Set a new password, lift a lock-out and end the user's open sessions; refused for OIDC-only users."""
    require_password_user(db, actor, name)  # first, so an OIDC user is not told their new password is too short
    password_hash = _hash(password)
    with db.write() as session:
        user = _user(session, name)
        user.password_hash, user.password_changed_at = password_hash, utcnow()
        _end_sessions(session, user.id)
        session.execute(delete(SignInFailure).where(SignInFailure.name == _throttle_key(user.name)))
        audit.record(session, actor.name, "user.reset_password", user=user.name)


# -- signing in -----------------------------------------------------------------------------------

def _throttle_key(name: str) -> str:
    return name.strip().casefold()[:MAX_NAME_LENGTH]


@dataclass(frozen=True)
class _Attempt:
    failures: int  # counting this attempt
    locked: timedelta | None  # how long the name is locked should this attempt fail


def _reserve_attempt(db: Database, name: str, policy: AuthPolicy, now: datetime) -> _Attempt:
    """Count a sign-in attempt as a failure before its password is checked; SignInLocked while the name is locked.

    Checking the lock and counting happen in one write transaction (the row locked), so concurrent guesses
    queue here and each sees the ones before: checked first and counted after, a burst of 40 all passed the
    check before any was counted. A right password then clears the count (sign_in).
    """
    key = _throttle_key(name)
    with db.write() as session:
        session.execute(dialect_insert(session)(SignInFailure)
                        .values(name=key, failures=0, last_failure_at=now).on_conflict_do_nothing())
        row = session.get(SignInFailure, key, with_for_update=True, populate_existing=True)
        assert row is not None
        if row.locked_until is not None and row.locked_until > now:
            raise SignInLocked(row.locked_until - now)  # rolls back: a locked attempt is not counted
        # The window runs from the last failure or the end of the last lock-out, whichever is later.
        if max(row.last_failure_at, row.locked_until or row.last_failure_at) < now - policy.failure_window:
            row.failures = 0
        row.failures += 1
        row.last_failure_at = now
        locked = None
        if row.failures >= policy.max_failures:
            locked = doubled(policy.lockout, row.failures - policy.max_failures, policy.max_lockout)
            row.locked_until = now + locked
        return _Attempt(row.failures, locked)


def _fail(db: Database, name: str, attempt: _Attempt) -> SignInFailed:
    """Audit a wrong password (already counted by _reserve_attempt); the error to raise."""
    with db.write() as session:
        audit.record(session, name.strip()[:MAX_NAME_LENGTH], "auth.failed", failures=attempt.failures,
                     locked_seconds=attempt.locked.total_seconds() if attempt.locked else None)
    return SignInLocked(attempt.locked) if attempt.locked else SignInFailed("wrong user name or password")


def _open_session(session: Session, user: User, policy: AuthPolicy, now: datetime, method: str) -> SignedIn:
    session.execute(delete(UserSession).where(UserSession.expires_at <= now))
    token = secrets.token_urlsafe(32)
    expires = now + policy.session_lifetime
    session.add(UserSession(token_hash=_token_hash(token), user_id=user.id, created_at=now, expires_at=expires))
    audit.record(session, user.name, "auth.sign_in", method=method)
    return SignedIn(Principal(user.name, Role(user.role)), token, expires)


def sign_in(db: Database, name: str, password: str, policy: AuthPolicy = AuthPolicy(),
            now: datetime | None = None) -> SignedIn:
    """Check a name and password; raises SignInLocked while the name is locked, else SignInFailed."""
    now = now or utcnow()
    attempt = _reserve_attempt(db, name, policy, now)
    with db.read() as session:
        user = session.scalar(select(User).where(User.name == name.strip(), User.disabled_at.is_(None)))
    too_long = len(password) > MAX_PASSWORD_LENGTH  # no stored password is; skip hashing megabytes
    if too_long or not _verify(user.password_hash if user else None, password) or user is None:
        raise _fail(db, name, attempt)
    with db.write() as session:
        user = session.get(User, user.id)
        if user is not None and user.disabled_at is None:
            if _hasher.check_needs_rehash(user.password_hash or ""):
                user.password_hash = _hasher.hash(password)
            session.execute(delete(SignInFailure).where(SignInFailure.name == _throttle_key(name)))
            return _open_session(session, user, policy, now, "password")
    raise _fail(db, name, attempt)  # disabled (or removed) while its password was checked


def sign_in_external(db: Database, name: str, policy: AuthPolicy = AuthPolicy(), now: datetime | None = None) -> SignedIn:
    """Open a session for someone an identity provider vouched for (``st.login``); they must be a user here."""
    now = now or utcnow()
    email = name.strip()
    with db.write() as session:
        # An address is one whatever its case (some providers send Ana@Example.com, most ana@…), and
        # `user add --oidc` stores it lower-cased; a user added before that keeps matching exactly.
        user = session.scalar(select(User).where(User.name == email, User.disabled_at.is_(None)))
        if user is None:
            user = session.scalar(select(User).where(User.name == email.lower(), User.password_hash.is_(None),
                                                     User.disabled_at.is_(None)))
        if user is None:
            raise SignInFailed(f"{name.strip()} is not a mentiondesk user; ask an admin to add you")
        return _open_session(session, user, policy, now, "oidc")


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def resume(db: Database, token: str | None, now: datetime | None = None) -> Principal | None:
    """The principal of a live session, with the user's current role; None if expired or ended."""
    if not token:
        return None
    now = now or utcnow()
    with db.read() as session:
        row = session.execute(
            select(User.name, User.role).join(UserSession, UserSession.user_id == User.id)
            .where(UserSession.token_hash == _token_hash(token), UserSession.expires_at > now,
                   User.disabled_at.is_(None))
        ).first()
    return Principal(row.name, Role(row.role)) if row else None


def sign_out(db: Database, token: str) -> None:
    with db.write() as session:
        row = session.get(UserSession, _token_hash(token))
        if row is None:
            return
        user = session.get(User, row.user_id)
        session.delete(row)
        audit.record(session, user.name if user else "unknown", "auth.sign_out")


__all__ = ["AuthPolicy", "SignInFailed", "SignInLocked", "SignedIn", "UserError", "add_user", "clean_name", "disable_user",
           "enable_user", "list_users", "parse_role", "require_password_user", "reset_password", "resume", "set_role",
           "sign_in", "sign_in_external", "sign_out"]
