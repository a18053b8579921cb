"""Helpers for the Mastodon, Bluesky, Hacker News and RSS connector tests: one connector through the poller."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from connectors.emulators import DEMO_BRAND
from monitor import models
from monitor.config import Config
from monitor.poller import poll_once
from monitor.storage import Database

FAST_RETRIES = {"max_retries": 2, "retry_backoff_seconds": 0.01}


def one_connector_config(db: Database, name: str, settings: dict[str, Any], *, env: dict[str, str] | None = None,
                         handle: str | None = None) -> Config:
    brand: dict[str, Any] = {"name": DEMO_BRAND, "keywords": [DEMO_BRAND]}
    if handle:
        brand["handles"] = {name: handle}
    return Config.from_dict(
        {
            "database": {"url": db.engine.url.render_as_string(hide_password=False)},
            "brands": [brand],
            "connectors": {name: {**FAST_RETRIES, **settings}},
        },
        env=env or {},
    )


def poll(db: Database, config: Config) -> Any:
    """One poll round of the config's only connector; returns its report."""
    (report,) = poll_once(db, config)
    return report


def stored_rows(db: Database, platform: str) -> dict[str, dict[str, Any]]:
    """The platform's stored mentions by external id: text, created_at, thread_id and raw."""
    m = models.Mention
    with db.read() as session:
        rows = session.execute(select(m.external_id, m.text, m.created_at, m.thread_id, m.raw)
                               .where(m.platform == platform))
        return {row.external_id: row._asdict() for row in rows}
