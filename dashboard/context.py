"""Per-process resources (config, database, connectors) and the per-session user."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import streamlit as st

from connectors.base import Connector
from monitor.config import Config, DashboardSettings
from monitor.errors import MentiondeskError
from monitor.paths import default_config_path
from monitor.storage import Database

USER_KEY = "user"


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


@st.cache_resource(show_spinner=False)
def _open(config_path: str) -> AppContext:
    from pathlib import Path

    config = Config.load(Path(config_path))
    db = Database.open(config.database_url)
    if db.is_sqlite:
        db.upgrade()  # as the CLI does: an embedded file is kept current
    else:
        db.check_schema()
    return AppContext(config, db, config.dashboard)


def context() -> AppContext:
    try:
        return _open(str(default_config_path()))
    except MentiondeskError as exc:
        st.error(f"Cannot start the dashboard: {exc}")
        st.stop()
        raise  # unreachable: st.stop() ends the run


def sidebar_user(ctx: AppContext) -> str:
    """The person using this session (sign-in comes later): picked from the team or typed.

    Each page draws this itself (widgets in the navigation script do not survive AppTest reruns);
    the name is also kept outside the widget so it survives switching pages.
    """
    team = list(ctx.settings.team)
    known = str(st.session_state.get(USER_KEY, ""))
    other = "someone else…"
    if team:
        index = team.index(known) if known in team else (len(team) if known else 0)
        choice = st.sidebar.selectbox("You are", [*team, other], index=index, key="user-pick")
        name = st.sidebar.text_input("Your name", value="" if known in team else known, key="user-name") if choice == other else choice
    else:
        name = st.sidebar.text_input("Your name", value=known, key="user-name", placeholder="who is triaging?")
    st.session_state[USER_KEY] = (name or "").strip()
    return st.session_state[USER_KEY]
