"""`mentiondesk demo`: a ready-to-look-at install with nothing to configure."""

from __future__ import annotations

from pathlib import Path

import click
from sqlalchemy import select

from monitor.config import Config
from monitor.models import Mention
from monitor.paths import data_dir
from monitor.poller import poll_once
from monitor.storage import Database
from monitor.text import terminal_safe

DEMO_BRAND = {"name": "Acme", "keywords": ["acme"], "handles": {"sample": "acme"}}


def run_demo(home: Path | None = None) -> None:
    home = home or data_dir() / "demo"
    home.mkdir(parents=True, exist_ok=True)
    config = Config.from_dict(
        {
            "database": {"url": f"sqlite:///{home / 'demo.db'}"},
            "brands": [DEMO_BRAND],
            "connectors": {"sample": {"poll_interval_seconds": 10}},
        },
        env={},
        source="demo config",
    )
    db = Database.open(config.database_url)
    db.upgrade()
    click.echo(f"demo database: {db.display_url}")
    for report in poll_once(db, config):
        click.echo(f"{report.connector}: {report.stored} new of {report.received} fetched"
                   + (f"; error: {report.error}" if report.error else ""))
    with db.read() as session:
        latest = session.scalars(select(Mention).order_by(Mention.created_at.desc()).limit(10)).all()
    click.echo("latest mentions:")
    for m in latest:
        click.echo(f"  [{m.platform}] {m.created_at:%Y-%m-%d %H:%M} @{terminal_safe(m.author_handle or '?')} "
                   f"({m.lang or '?'}){' [replyable]' if m.replyable else ''}: {terminal_safe(m.text, 120)}")
    db.dispose()
