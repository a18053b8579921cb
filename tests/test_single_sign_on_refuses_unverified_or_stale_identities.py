"""Single sign-on through the dashboard: an email_verified claim sent as text counts only when it says "true", and an
identity Streamlit kept in its 30-day cookie is refused once the provider's ID token has expired or is older than a
session here lasts (the user is sent back to sign in at the provider)."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.context import TOKEN_KEY
from monitor import users
from monitor.access import Role
from monitor.storage import Database
from monitor.users import AuthPolicy, SignInFailed
from tests.principals import ADMIN
from tests.test_dashboard_fixtures import APP, dashboard_db

EMAIL = "lead@example.com"
NOW = datetime(2026, 12, 20, 12, 0, tzinfo=timezone.utc)
HOUR = 3600


def _sign_in_with_provider(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **claims: Any) -> AppTest:
    """The dashboard (run) in a browser that Streamlit's st.login signed in with ``claims``; [auth] session_hours=12."""
    db = dashboard_db(tmp_path, monkeypatch, extra_config='[auth]\noidc_provider = "default"\nsession_hours = 12\n')
    users.add_user(db, ADMIN, EMAIL, Role.AGENT, None)
    db.dispose()
    at = AppTest.from_file(APP, default_timeout=60)
    at.user = {"is_logged_in": True, "email": EMAIL, **claims}
    return at.run()


def _errors(at: AppTest) -> list[str]:
    return [error.value for error in at.error]


@pytest.mark.parametrize("claim", ["false", "False", " FALSE ", 0, "no", ""])
def test_an_email_verified_claim_that_is_not_true_refuses_the_sign_in(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, claim: object) -> None:
    at = _sign_in_with_provider(tmp_path, monkeypatch, email_verified=claim)
    assert TOKEN_KEY not in at.session_state
    assert any("has not verified this email address" in error for error in _errors(at))


@pytest.mark.parametrize("claims", [{"email_verified": True}, {"email_verified": "true"},
                                    {"email_verified": " True "}, {}],
                         ids=["boolean", "text", "text-any-case", "left-out-as-entra-id-does"])
def test_a_verified_or_unstated_address_signs_in(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, claims: dict[str, object]) -> None:
    now = int(time.time())
    at = _sign_in_with_provider(tmp_path, monkeypatch, iat=now - 60, exp=now + HOUR, **claims)
    assert TOKEN_KEY in at.session_state, _errors(at)


@pytest.mark.parametrize("iat, exp", [(-29 * 24 * HOUR - HOUR, -29 * 24 * HOUR), (-13 * HOUR, None)],
                         ids=["issued-29-days-ago", "issued-past-session-hours"])
def test_a_stale_identity_is_sent_back_to_the_provider(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, iat: int, exp: int | None) -> None:
    now = int(time.time())
    times = {"iat": now + iat} | ({"exp": now + exp} if exp is not None else {})
    at = _sign_in_with_provider(tmp_path, monkeypatch, email_verified=True, **times)
    assert TOKEN_KEY not in at.session_state
    assert any("sign in with it again" in error for error in _errors(at)), _errors(at)
    assert [button.label for button in at.button if button.key == "sign-in-oidc"] == [
        "Sign in again with single sign-on"]


def test_identity_freshness_is_judged_by_the_token_times_against_the_session_length() -> None:
    policy = AuthPolicy(session_lifetime=timedelta(hours=12))
    now = NOW.timestamp()
    users.check_identity_fresh({}, policy, NOW)  # a provider that sends neither time is not refused for it
    users.check_identity_fresh({"iat": now - 12 * HOUR, "exp": now + 1}, policy, NOW)
    # An ID token expires within the hour at most providers: within the session, that sends no one back.
    users.check_identity_fresh({"iat": now - 2 * HOUR, "exp": now - HOUR}, policy, NOW)
    users.check_identity_fresh({"iat": now - 30 * 24 * HOUR}, AuthPolicy(session_lifetime=timedelta(days=30)), NOW)
    with pytest.raises(users.IdentityStale, match="more than 12 hours old"):
        users.check_identity_fresh({"iat": now - 12 * HOUR - 1, "exp": now + HOUR}, policy, NOW)
    with pytest.raises(SignInFailed, match="'iat' is not a time"):
        users.check_identity_fresh({"iat": "yesterday"}, policy, NOW)


def test_a_session_reopened_from_the_providers_word_ends_when_one_opened_at_the_sign_in_would(db: Database) -> None:
    # A reload reopens the session from Streamlit's cookie: just before session_hours ran out, that stretched
    # access to almost twice session_hours after the provider last vouched for the person.
    policy = AuthPolicy(session_lifetime=timedelta(hours=12))
    users.add_user(db, ADMIN, "ana@example.com", Role.AGENT, None)
    signed_in = NOW - timedelta(hours=11, minutes=59)
    at = users.check_identity_fresh({"iat": signed_in.timestamp()}, policy, NOW)
    assert at == signed_in
    reopened = users.sign_in_external(db, "ana@example.com", policy, now=NOW, signed_in_at=at)
    assert reopened.expires_at == signed_in + timedelta(hours=12)
    assert users.resume(db, reopened.token, now=NOW + timedelta(minutes=2)) is None
