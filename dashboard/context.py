"""Per-process resources (config, database, connectors), the signed-in user of each browser session,
and the widget values a session keeps while their widgets are not drawn."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import streamlit as st
from sqlalchemy import select

from connectors.base import Connector
from monitor.config import Config, DashboardSettings
from monitor import replies, suggestions, users
from monitor.access import Principal, Role, require
from monitor.errors import AccessDenied, MentiondeskError
from monitor.ingest import sync_brands
from monitor.models import Brand, Mention
from monitor.paths import default_config_path
from monitor.storage import Database
from dashboard.safe import show_error

TOKEN_KEY = "auth-token"
FLASH_KEY = "flash"
_KEPT_PREFIX = "kept-"
WidgetValue = TypeVar("WidgetValue")


@dataclass
class AppContext:
    config: Config
    db: Database
    settings: DashboardSettings
    _connectors: dict[str, Connector] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def connector(self, platform: str) -> Connector | None:
        """The configured connector that replies on ``platform``, or None if it is not set up."""
        cc = self.config.connectors.get(platform)
        if cc is None or not cc.settings.enabled:
            return None
        with self._lock:
            if platform not in self._connectors:
                self._connectors[platform] = cc.create()
            return self._connectors[platform]

    @property
    def default_brand(self) -> str:
        """``{brand}`` for a mention that belongs to no brand of ours: the first configured brand that is not a
        competitor (our account never signs with a competitor's name)."""
        return next((brand.name for brand in self.config.brands if not brand.competitor), "")

    def brand_name(self, mention: Mention) -> str:
        """What fills a template's ``{brand}`` for this mention: its brand's name, else (no brand, or a
        competitor's) the default."""
        if mention.brand_id is not None:
            with self.db.read() as session:
                name = session.scalar(select(Brand.name).where(Brand.id == mention.brand_id,
                                                               Brand.competitor.is_(False)))
            if name:
                return name
        return self.default_brand

    def competitor_of(self, mention: Mention) -> str | None:
        """The competitor brand the mention is about (its customers are not ours to answer), or None."""
        with self.db.read() as session:
            return replies.competitor_of(session, mention)


@st.cache_resource(show_spinner=False)
def _open(config_path: str) -> AppContext:
    from pathlib import Path

    config = Config.load(Path(config_path))
    db = Database.open(config.database_url)
    if db.is_sqlite:
        db.upgrade()  # as the CLI does: an embedded file is kept current
    else:
        db.check_schema()
    sync_brands(db, config.brands, {})  # per-brand settings such as reply_approval apply from start-up
    suggestions.use_sentiment_settings(config.sentiment)  # "Suggest replies" loads the model as configured
    return AppContext(config, db, config.dashboard)


def context() -> AppContext:
    try:
        return _open(str(default_config_path()))
    except MentiondeskError as exc:
        show_error(exc, "Cannot start the dashboard: ")
        st.stop()
        raise  # unreachable: st.stop() ends the run


def current_user(ctx: AppContext) -> Principal | None:
    """The signed-in principal of this browser session, with the role it has now; None when signed out.

    The session token lives only in this Streamlit session (a reload asks to sign in again); the
    database says whether it is still valid (expiry, sign-out, user disabled or password reset).
    """
    principal = users.resume(ctx.db, st.session_state.get(TOKEN_KEY))
    if principal is None:
        st.session_state.pop(TOKEN_KEY, None)
    return principal


def acting_user(ctx: AppContext, role: Role, action: str) -> Principal | None:
    """For a button callback: the signed-in user as they are now, if they may do ``action``.

    A callback's arguments were bound when its page was drawn, perhaps before an admin disabled or
    demoted the user, so the session is read again here. None where they are signed out or lack
    ``role``, with the reason shown at the top of the page (where a callback's messages go).
    """
    principal = current_user(ctx)
    if principal is None:
        st.error(f"Not done: {action} needs a signed-in user, and your session has ended.")
        return None
    try:
        return require(principal, role, action)
    except AccessDenied as exc:
        show_error(exc, "Not done: ")
        return None


def sign_in_form(ctx: AppContext) -> None:
    """The only thing a signed-out browser sees."""
    st.title("mentiondesk")
    st.subheader("Sign in")
    with st.form("sign-in", clear_on_submit=True):
        name = st.text_input("User name", key="sign-in-name")
        password = st.text_input("Password", type="password", key="sign-in-password")
        submitted = st.form_submit_button("Sign in", type="primary")
    if submitted:
        try:
            signed = users.sign_in(ctx.db, name, password, ctx.settings.auth)
        except users.SignInFailed as exc:
            show_error(exc)
        else:
            _start_session(signed.token)
    if ctx.settings.oidc_provider:
        _oidc_sign_in(ctx, ctx.settings.oidc_provider)


def _oidc_sign_in(ctx: AppContext, provider: str) -> None:
    # Streamlit's st.login does the OIDC flow (configured in .streamlit/secrets.toml [auth]); we then
    # open our own session for the email it vouches for, if that email is a user here.
    if not st.user.is_logged_in:
        _oidc_login_button(provider, "Sign in with single sign-on")
        return
    try:
        # Streamlit keeps the provider's word for 30 days: one older than it or a session here is asked for again.
        signed_in_at = users.check_identity_fresh(st.user, ctx.settings.auth)
        # An address the provider has not verified is one anyone could have typed in there.
        signed = users.sign_in_external(ctx.db, str(st.user.get("email") or ""), ctx.settings.auth,
                                        verified=users.email_verified(st.user), signed_in_at=signed_in_at)
    except users.SignInFailed as exc:
        show_error(exc)
        if isinstance(exc, users.IdentityStale):
            _oidc_login_button(provider, "Sign in again with single sign-on")
        st.button("Use another account", key="sign-out-oidc", on_click=st.logout)
        return
    _start_session(signed.token)


def _oidc_login_button(provider: str, label: str) -> None:
    if st.button(label, key="sign-in-oidc"):
        st.login() if provider == "default" else st.login(provider)


def _start_session(token: str) -> None:
    # Nothing of whoever used this browser tab before (their drafts, filters, ticked mentions) is
    # left for the user signing in: a session that ran out was never signed out of.
    st.session_state.clear()
    st.session_state[TOKEN_KEY] = token
    st.rerun()


def sidebar_user(ctx: AppContext) -> Principal:
    """The signed-in user, shown in the sidebar with a sign-out button; signed out, the sign-in form and stop.

    Each page calls this itself, so a page run on its own never draws anything for a stranger.
    """
    principal = current_user(ctx)
    if principal is None:
        sign_in_form(ctx)
        st.stop()
        raise AssertionError("unreachable: st.stop() ends the run")
    st.sidebar.text(f"Signed in as {principal.name} ({principal.role.value})")  # plain text: names are not markup
    st.sidebar.button("Sign out", key="sign-out", on_click=_sign_out, args=(ctx,))
    return principal


def _sign_out(ctx: AppContext) -> None:
    token = st.session_state.pop(TOKEN_KEY, None)
    st.session_state.clear()  # unsent drafts are private, and ticked mentions are no one else's
    if token:
        users.sign_out(ctx.db, token)
    if ctx.settings.oidc_provider and st.user.is_logged_in:
        st.logout()


def keep_flash(messages: list[tuple[str, str]]) -> None:
    """Keep (kind, Markdown) messages, kind "success" or "warning", for :func:`show_flash` on the next run:
    a message drawn just before a rerun is wiped by it."""
    st.session_state[FLASH_KEY] = messages


def show_flash() -> None:
    for kind, message in st.session_state.pop(FLASH_KEY, []):
        (st.success if kind == "success" else st.warning)(message)


def kept(draw: Callable[..., WidgetValue], *args: Any, key: str, **kwargs: Any) -> WidgetValue:
    """``draw(*args, key=key, **kwargs)``, a widget whose value outlives the runs that do not draw it.

    Streamlit forgets a widget's value at the end of any run that leaves the widget out (a visit to
    another page, another mention opened), so a plain key keeps a copy, put back before it is drawn.
    A ``value`` keyword is the widget's first value, set as its state: Streamlit warns about a widget
    given both a value and a state.
    """
    copy = _KEPT_PREFIX + key
    first = kwargs.pop("value", None)
    if key not in st.session_state:
        restored = st.session_state.get(copy, first)
        if restored is not None:
            st.session_state[key] = restored
    value = draw(*args, key=key, **kwargs)
    st.session_state[copy] = value
    return value
