"""Dashboard users: argon2-hashed passwords, sign-in sessions, and slow-down after failed sign-ins.

Failed sign-ins are counted per user, under its name as stored, and for a name that is no user's per name as typed
(once in one form: :func:`_name_form`), so the answer never tells which names exist; the count is in the database,
so every dashboard process sees it: after ``max_failures`` in a row the name is locked for ``lockout``, doubling
with each further failure up to ``max_lockout``. Only a SHA-256 of each session token is stored; a session ends at
its expiry, on sign-out, or when its user is disabled or gets a new password. The role is read on every resume, so
a changed role applies at once.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Select, delete, select
from sqlalchemy.orm import Session

from monitor import audit
from monitor.access import LOCAL_OPERATOR_PREFIX, Principal, Role, require
from monitor.backoff import doubled
from monitor.errors import MentiondeskError, NotFound
from monitor.ingest import CONFIG_ACTOR, dialect_insert, storable
from monitor.models import SignInFailure, User, UserSession, utcnow
from monitor.storage import Database
from sentiment.text import DEFAULT_IGNORABLE_CHAR

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024  # argon2 hashes any length; this bounds the work one request can ask for
MAX_NAME_LENGTH = 200
# Default-ignorable characters are refused in names, with controls, format characters and surrogates: they
# show nothing, so a name holding one looks like another user's ("ana\u2060" is "ana" on every page and in the
# audit log). A text or emoji variation selector right after a symbol ("❤️") only picks how the symbol is
# drawn, and is kept.
_EMOJI_STYLE = "\ufe0e\ufe0f"
# Refused too: line and paragraph separators (Zl, Zp), which break a name over lines, and the characters that
# show nothing though they are not default-ignorable ("ana\u2800" is "ana"): the braille blank, the musical null
# notehead and the Khitan filler. (The Hangul fillers are default-ignorable, refused above.)
_REFUSED_CATEGORIES = ("Cc", "Cf", "Cs", "Zl", "Zp")
_BLANK_SYMBOLS = "\u2800\U0001d159\U00016fe4"
# An OIDC user is matched by the email address the identity provider vouches for (sign_in_external),
# so any other name could never sign in. Only the shape is checked: the provider owns the address.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
_NAME_RULE = f"a user name is 1 to {MAX_NAME_LENGTH} characters without control or invisible characters"
# The audit log's actors that are no dashboard user: a user so named would pass for automation, a config edit, a
# sign-out by a removed user, or the local operator (cli:<account>). "mentiondesk" is in entries written before
# automatic ones were all recorded as "system".
_UNKNOWN_ACTOR = "unknown"
_RESERVED_NAMES = (audit.SYSTEM_ACTOR, CONFIG_ACTOR, _UNKNOWN_ACTOR, "mentiondesk")

_hasher = PasswordHasher()  # argon2id with the library's RFC 9106 defaults


class UserError(MentiondeskError):
    """A user cannot be added or changed as asked (bad name, weak password, unknown role, last admin)."""


class SignInFailed(MentiondeskError):
    """Wrong name or password (never says which)."""


class IdentityStale(SignInFailed):
    """The identity provider's sign-in is too old to open a session on: sign in there again."""


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


def _name_form(name: str) -> str:
    """The one form names are compared in, as they look alike: in NFC ("josé" typed as one letter é or as e and
    U+0301), each run of spaces of any kind (Zs) one plain space ("ana\u00a0lopez", "ana  lopez": "ana lopez")."""
    spaced = "".join(" " if unicodedata.category(ch) == "Zs" else ch for ch in name)
    return unicodedata.normalize("NFC", re.sub(" {2,}", " ", spaced))


def clean_name(name: str) -> str:
    """A user name as stored (also an assignee): stripped, in NFC; UserError if empty, too long, or holding
    control, invisible, blank-looking or unencodable (lone surrogate) characters. Its spaces stay as typed: an
    assignee names its user as stored, and one stored before may hold a no-break space (add_user folds them)."""
    name = unicodedata.normalize("NFC", name.strip())
    shown = "".join(ch for i, ch in enumerate(name)
                    if not (ch in _EMOJI_STYLE and i and unicodedata.category(name[i - 1]) == "So"))
    if not name or len(name) > MAX_NAME_LENGTH or DEFAULT_IGNORABLE_CHAR.search(shown) \
            or any(unicodedata.category(ch) in _REFUSED_CATEGORIES or ch in _BLANK_SYMBOLS for ch in name):
        raise UserError(_NAME_RULE)
    return name


def _password_problem(password: str) -> str | None:
    """Why no user can have ``password`` whatever its length rule (too long, or not text argon2 can hash); else None."""
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"a password can be at most {MAX_PASSWORD_LENGTH} characters"
    try:
        password.encode()
    except UnicodeEncodeError:  # undecodable input (a Latin-1 file on stdin) arrives as lone surrogates
        return "a password must be text: this one holds bytes that are not UTF-8 (save it as UTF-8 and try again)"
    return None


def _hash(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    problem = _password_problem(password)
    if problem:
        raise UserError(problem)
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


def _same_names(session: Session, name: str, sso_any_case: bool = False) -> list[tuple[int, str]]:
    """The id and stored name of each user whose name is ``name`` once both are in one form (_name_form): one stored
    before may be in another ("jose\u0301" for "josé", "ana\u00a0lopez" for "ana lopez"). ``sso_any_case``: a
    single sign-on user's in any case too (_by_name). Every name is read: users are few, and SQLite cannot
    normalise in a query."""
    name = _name_form(name)
    rows = session.execute(select(User.id, User.name, User.password_hash.is_(None).label("sso")))
    return [(row.id, row.name) for row in rows
            if _name_form(row.name) == name or (sso_any_case and row.sso and _name_form(row.name) == name.lower())]


def _by_name(session: Session, users: Select[tuple[User]], name: str) -> User | None:
    """The one of ``users`` named ``name`` exactly, or in the one form names are compared in (_name_form); else the
    single sign-on user it names in another case, as `user add --oidc` stores the address lower-cased (add_user);
    else the only one whose name stored before names were normalised is ``name`` once normalised. Exactly as
    stored first, so of two users stored before then whose names differ only in form, each can still be named
    (and disabled)."""
    normal = _name_form(name)
    found = (session.scalar(users.where(User.name.in_([name, normal])).order_by(User.name != name))
             or session.scalar(users.where(User.name == normal.lower(), User.password_hash.is_(None))))
    if found is None:
        ids = [user_id for user_id, _ in _same_names(session, normal, sso_any_case=True)]
        matches = list(session.scalars(users.where(User.id.in_(ids)))) if ids else []
        found = matches[0] if len(matches) == 1 else None
    return found


def _user(session: Session, name: str, lock: bool = False) -> User:
    """The user named ``name``; ``lock`` for a write that depends on the row as read (PostgreSQL's row lock)."""
    name = name.strip()
    # No user's name, and one a query may not even take (a NUL on PostgreSQL; a lone surrogate, from a shell with a
    # bad locale, anywhere): refused as add_user refuses it, not as a driver error or a traceback. A name stored
    # before the invisible characters rule is still found.
    if _typed_name(name) != _name_form(name):
        raise UserError(_NAME_RULE)
    user = _by_name(session, select(User).with_for_update() if lock else select(User), name)
    if user is None:
        raise NotFound(f"no user named {name!r}")
    return user


def _lock_active_admins(session: Session) -> list[int]:
    """The active admins' ids, their rows locked (PostgreSQL; SQLite's writers take turns) until the write ends,
    so two admins demoting or disabling each other at once cannot each still count the other."""
    return list(session.scalars(select(User.id).where(User.role == Role.ADMIN.value, User.disabled_at.is_(None))
                                .order_by(User.id).with_for_update()))


def _end_sessions(session: Session, user_id: int) -> None:
    session.execute(delete(UserSession).where(UserSession.user_id == user_id))


# -- administration (admins only) -----------------------------------------------------------------

def add_user(db: Database, actor: Principal, name: str, role: Role, password: str | None) -> User:
    """Add a user; ``password`` None makes one who can only sign in through OIDC."""
    require(actor, Role.ADMIN, "adding users")
    name = _name_form(clean_name(name))  # a new name in the form names are compared in: plain single spaces
    if password is None:
        if not _EMAIL.match(name):
            raise UserError(f"{name!r} is not an email address: a single sign-on (OIDC) user is named by the email "
                            "the identity provider vouches for, e.g. ana@example.com")
        name = name.lower()  # providers differ in the case they send an address in (see sign_in_external)
    if name in _RESERVED_NAMES or name.startswith(LOCAL_OPERATOR_PREFIX):
        raise UserError(f"{name!r} is kept for the audit log's own entries ({', '.join(_RESERVED_NAMES)} and "
                        f"{LOCAL_OPERATOR_PREFIX}<account> for the command line); choose another name")
    password_hash = _hash(password) if password is not None else None
    with db.write() as session:
        same = [stored for _, stored in _same_names(session, name)]
        if same:
            another_form = "" if name in same else f" (stored as {ascii(same[0])}: the same letters typed another way)"
            raise UserError(f"a user named {name!r} already exists{another_form}")
        user = User(name=name, role=role.value, password_hash=password_hash,
                    password_changed_at=utcnow() if password_hash else None)
        session.add(user)
        audit.record(session, actor.name, "user.add", user=name, role=role.value)
        return user


def list_users(db: Database, actor: Principal) -> list[User]:
    require(actor, Role.ADMIN, "listing users")
    with db.read() as session:
        return list(session.scalars(select(User).order_by(User.name)))


def set_role(db: Database, actor: Principal, name: str, role: Role) -> str:
    """Change the user's role; their name as stored."""
    require(actor, Role.ADMIN, "changing roles")
    with db.write() as session:
        admins = _lock_active_admins(session)
        user = _user(session, name, lock=True)
        if role is not Role.ADMIN and admins == [user.id]:
            raise UserError(f"{user.name} is the last active admin; make someone else admin first")
        audit.record(session, actor.name, "user.role", user=user.name, before=user.role, after=role.value)
        user.role = role.value
        return user.name


def disable_user(db: Database, actor: Principal, name: str) -> str:
    """Refuse the user's sign-ins from now on and end their open sessions; their name as stored."""
    require(actor, Role.ADMIN, "disabling users")
    with db.write() as session:
        admins = _lock_active_admins(session)
        user = _user(session, name, lock=True)
        if user.disabled_at is not None:
            raise UserError(f"{user.name} is already disabled")
        if admins == [user.id]:
            raise UserError(f"{user.name} is the last active admin; make someone else admin first")
        user.disabled_at = utcnow()
        _end_sessions(session, user.id)
        audit.record(session, actor.name, "user.disable", user=user.name)
        return user.name


def enable_user(db: Database, actor: Principal, name: str) -> str:
    """Let a disabled user sign in again; their name as stored."""
    require(actor, Role.ADMIN, "enabling users")
    with db.write() as session:
        user = _user(session, name, lock=True)
        if user.disabled_at is None:
            raise UserError(f"{user.name} is not disabled")
        user.disabled_at = None
        audit.record(session, actor.name, "user.enable", user=user.name)
        return user.name


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
        user = _user(session, name, lock=True)  # a sign-in checking the old password waits, then sees the new one
        user.password_hash, user.password_changed_at = password_hash, utcnow()
        _end_sessions(session, user.id)
        session.execute(delete(SignInFailure).where(SignInFailure.name == user.name))  # as sign_in counts it
        audit.record(session, actor.name, "user.reset_password", user=user.name)


# -- signing in -----------------------------------------------------------------------------------

def _typed_name(name: str) -> str:
    """A name as typed, in the form names are compared in (so typing it another way, é as e and U+0301 or a space
    as a no-break space, is not another name), made storable: what an attempt that names no user is counted and
    audited under. A name whose form is not its typed name's is no user's: it holds a NUL or a lone surrogate, or
    is longer than any name."""
    return _name_form(storable(name.strip()))[:MAX_NAME_LENGTH]


@dataclass(frozen=True)
class _Attempt:
    failures: int  # counting this attempt
    locked: timedelta | None  # how long the name is locked should this attempt fail


def _reserve_attempt(db: Database, counted: str, policy: AuthPolicy, now: datetime) -> _Attempt:
    """Count a sign-in attempt as a failure before its password is checked; SignInLocked while the name is locked.

    Checking the lock and counting happen in one write transaction (the row locked), so concurrent guesses
    queue here and each sees the ones before: checked first and counted after, a burst of 40 all passed the
    check before any was counted. A right password then clears the count (sign_in). An attempt refused by a
    lock-out is not counted; the first of each lock-out is audited (``auth.locked``), so a flood of them adds
    one entry, not one each.
    """
    with db.write() as session:
        session.execute(dialect_insert(session)(SignInFailure)
                        .values(name=counted, failures=0, last_failure_at=now).on_conflict_do_nothing())
        row = session.get(SignInFailure, counted, with_for_update=True, populate_existing=True)
        assert row is not None
        if row.locked_until is None or row.locked_until <= now:
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
        if row.last_failure_at < row.locked_until:  # the lock-out's first refusal
            audit.record(session, counted, "auth.locked", locked_until=row.locked_until.isoformat())
            # Marks the refusal as audited; the window, from the later of the two, stays as it was.
            row.last_failure_at = row.locked_until
        retry_after = row.locked_until - now
    raise SignInLocked(retry_after)


def _fail(db: Database, counted: str, attempt: _Attempt) -> SignInFailed:
    """Audit a wrong password (already counted by _reserve_attempt); the error to raise."""
    with db.write() as session:
        audit.record(session, counted, "auth.failed", failures=attempt.failures,
                     locked_seconds=attempt.locked.total_seconds() if attempt.locked else None)
    return SignInLocked(attempt.locked) if attempt.locked else SignInFailed("wrong user name or password")


def _open_session(session: Session, user: User, policy: AuthPolicy, now: datetime, method: str,
                  signed_in_at: datetime | None = None) -> SignedIn:
    """A session lasting ``session_hours`` from the sign-in: from now, or from ``signed_in_at`` where a provider
    says when the person signed in there (a reload reopens a session from the provider's word, which must not
    stretch it)."""
    session.execute(delete(UserSession).where(UserSession.expires_at <= now))
    token = secrets.token_urlsafe(32)
    expires = min(now, signed_in_at or now) + policy.session_lifetime
    session.add(UserSession(token_hash=_token_hash(token), user_id=user.id, created_at=now, expires_at=expires))
    audit.record(session, user.name, "auth.sign_in", method=method)
    return SignedIn(Principal(user.name, Role(user.role)), token, expires)


def sign_in(db: Database, name: str, password: str, policy: AuthPolicy = AuthPolicy(),
            now: datetime | None = None) -> SignedIn:
    """Check a name and password; raises SignInLocked while the name is locked, else SignInFailed."""
    now = now or utcnow()
    typed = _typed_name(name)
    user = None
    if typed == _name_form(name.strip()):  # else no user's, and not looked up: PostgreSQL refuses a NUL even in a query
        with db.read() as session:
            user = _by_name(session, select(User).where(User.disabled_at.is_(None)), name.strip())
    # Under the user's name as stored: two users stored before names were normalised ("ana lopez" and
    # "ana\u00a0lopez") are one name once typed, yet one's right password must not clear the other's count. Not
    # for a single sign-on user, whom no password opens: found in any case, their count would say the address
    # is a user's, where an unknown name counts each spelling apart.
    counted = user.name if user is not None and user.password_hash is not None else typed
    attempt = _reserve_attempt(db, counted, policy, now)
    checked_hash = user.password_hash if user else None
    # A password no user can have is not hashed (megabytes of it, or not text).
    if _password_problem(password) or not _verify(checked_hash, password) or user is None:
        raise _fail(db, counted, attempt)
    with db.write() as session:
        # Locked, as reset_password locks it: a new password committed while the old one was checked is seen
        # here (and fails this sign-in), one committed later ends the session opened here.
        user = session.get(User, user.id, with_for_update=True)
        if user is not None and user.disabled_at is None and user.password_hash == checked_hash:
            if _hasher.check_needs_rehash(checked_hash or ""):
                user.password_hash = _hasher.hash(password)
            session.execute(delete(SignInFailure).where(SignInFailure.name == counted))
            return _open_session(session, user, policy, now, "password")
    raise _fail(db, counted, attempt)  # disabled, removed or given a new password while its password was checked


def sign_in_external(db: Database, name: str, policy: AuthPolicy = AuthPolicy(), now: datetime | None = None,
                     verified: bool = True, signed_in_at: datetime | None = None) -> SignedIn:
    """Open a session for someone an identity provider vouched for (``st.login``); they must be a user added for
    single sign-on (one with a password signs in with it, lock-out and all), by an address the provider has
    verified (``verified`` False: one anyone could have typed in there). The session ends ``session_hours`` after
    ``signed_in_at`` (the ID token's ``iat``, see `check_identity_fresh`), where given. A refusal is audited."""
    now = now or utcnow()
    typed = _typed_name(name)
    with db.write() as session:
        if verified and typed == _name_form(name.strip()):  # else no user's (see sign_in), or no one's to vouch for
            # An address is one whatever its case (some providers send Ana@Example.com, most ana@…): _by_name.
            sso_users = select(User).where(User.password_hash.is_(None), User.disabled_at.is_(None))
            user = _by_name(session, sso_users, name.strip())
            if user is not None:
                return _open_session(session, user, policy, now, "oidc", signed_in_at)
        unverified = {} if verified else {"reason": "email not verified"}
        audit.record(session, typed, "auth.failed", method="oidc", **unverified)
    if not verified:
        raise SignInFailed("your identity provider has not verified this email address")
    raise SignInFailed(f"{typed} is not a mentiondesk user; ask an admin to add you")


def email_verified(claims: Mapping[str, Any]) -> bool:
    """Whether the identity provider's claims (``st.user``) say it verified the email address they carry. The
    claim is a JSON boolean, yet some providers send it as text (a Keycloak mapper typed String, Cognito's
    userinfo), so only true or "true" counts: "false", 0 or any other value does not. A provider that never
    sends the claim (Entra ID) is taken at its word."""
    claim = claims.get("email_verified")
    if claim is None:
        return True
    return claim is True or (isinstance(claim, str) and claim.strip().lower() == "true")


def _claimed_time(claims: Mapping[str, Any], claim: str) -> float | None:
    """A time claim of an ID token in seconds since 1970, None if left out; SignInFailed if it is not a number."""
    value = claims.get(claim)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SignInFailed(f"your identity provider sent a sign-in whose {claim!r} is not a time; ask an admin")
    return float(value)


def check_identity_fresh(claims: Mapping[str, Any], policy: AuthPolicy = AuthPolicy(),
                         now: datetime | None = None) -> datetime | None:
    """When the identity provider's sign-in (the ID token's claims, ``st.user``) was issued (``iat``; None if left
    out), refusing it (IdentityStale) where that is longer ago than a session here lasts (``[auth] session_hours``).
    Streamlit keeps the claims 30 days in a cookie and reads them on every page load without asking the provider,
    so without this a user disabled there would still get in; a session reopened from them ends when one opened at
    the sign-in would (`sign_in_external`'s ``signed_in_at``). Not the token's ``exp``: an ID token proves a sign-in
    and expires within the hour at most providers (Google, Entra ID), which would send the team back every hour."""
    now = now or utcnow()
    issued = _claimed_time(claims, "iat")
    if issued is None:
        return None
    lifetime = policy.session_lifetime.total_seconds()
    if now.timestamp() - issued > lifetime:
        raise IdentityStale(f"your single sign-on is more than {lifetime / 3600:g} hours old (the longest a "
                            "session here lasts): sign in with it again")
    return datetime.fromtimestamp(issued, timezone.utc)


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
        audit.record(session, user.name if user else _UNKNOWN_ACTOR, "auth.sign_out")


__all__ = ["AuthPolicy", "IdentityStale", "SignInFailed", "SignInLocked", "SignedIn", "UserError", "add_user",
           "check_identity_fresh", "clean_name", "disable_user", "email_verified", "enable_user", "list_users",
           "parse_role", "require_password_user", "reset_password", "resume", "set_role", "sign_in", "sign_in_external",
           "sign_out"]
