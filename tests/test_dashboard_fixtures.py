"""Helpers shared by the queue, triage, dashboard and browser tests (this module holds no tests)."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from monitor import users
from monitor.access import Role, local_operator
from monitor.models import Brand, Mention, User
from monitor.storage import Database
from tests import schema_templates

if TYPE_CHECKING:
    from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[1] / "dashboard" / "app.py")
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)
PASSWORD = "correct horse battery staple"
_ids = itertools.count(1)


def add_mention(db: Database, **fields: Any) -> int:
    """Store one mention with sensible defaults; returns its id."""
    n = next(_ids)
    values: dict[str, Any] = {
        "platform": "sample", "external_id": f"m{n}", "text": f"mention number {n}",
        "created_at": NOW - timedelta(minutes=n), "author_handle": f"user{n}", "author_name": f"User {n}",
        "author_followers": 100, "lang": "en", "url": f"https://example.com/post/{n}", "status": "new",
    }
    values.update(fields)
    with db.write() as session:
        mention = Mention(**values)
        session.add(mention)
        session.flush()
        return mention.id


def dashboard_db(tmp_path: Path, monkeypatch: Any, extra_config: str = "", brand_settings: str = "") -> Database:
    """A SQLite database with the dashboard's config pointing at it: brand Acme (plus ``brand_settings``
    lines), the sample connector, then ``extra_config``."""
    db_path, config_path = tmp_path / "dash.db", tmp_path / "mentiondesk.toml"
    config_path.write_text(f'[database]\nurl = "sqlite:///{db_path}"\n[[brands]]\nname = "Acme"\nkeywords = ["acme"]\n'
                           + brand_settings + '[connectors.sample]\n' + extra_config, encoding="utf-8")
    monkeypatch.setenv("MENTIONDESK_CONFIG", str(config_path))
    return schema_templates.new_database(f"sqlite:///{db_path}")


def add_brand(db: Database, name: str) -> int:
    with db.write() as session:
        brand = Brand(key=name.lower(), name=name)
        session.add(brand)
        session.flush()
        return brand.id


def add_user(db: Database, name: str, role: Role = Role.AGENT, password: str = PASSWORD) -> None:
    """Add a dashboard user (as the CLI does) unless one by that name exists."""
    with db.read() as session:
        exists = session.scalar(select(User.id).where(User.name == name)) is not None
    if not exists:
        users.add_user(db, local_operator(), name, role, password)


def session_token(db: Database, name: str, role: Role = Role.AGENT) -> str:
    """A live dashboard session for ``name`` (added with ``role`` if new), made by a real password sign-in."""
    add_user(db, name, role)
    return users.sign_in(db, name, PASSWORD).token


def signed_in_app(db: Database, name: str = "ana", role: Role = Role.AGENT) -> "AppTest":
    """The dashboard (AppTest, already run) in a browser session signed in as ``name``."""
    from streamlit.testing.v1 import AppTest

    from dashboard.context import TOKEN_KEY

    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state[TOKEN_KEY] = session_token(db, name, role)
    return at.run()


def listed(at: "AppTest") -> list[str]:
    """The open buttons of the mentions the queue page lists, in order."""
    return [b.key for b in at.button if b.key and b.key.startswith("open-")]


def browser_sign_in(page: Any, name: str, password: str = PASSWORD) -> None:
    """Sign in through the form in a real browser (Playwright page) and wait for the queue."""
    page.get_by_label("User name").fill(name)
    page.get_by_role("textbox", name="Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Queue").wait_for()
