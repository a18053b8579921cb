"""`mentiondesk demo`: the product on local platform emulators, with nothing to configure.

It starts the local platform emulators (X, Reddit, Mastodon, Bluesky, Hacker News, RSS: a reproducible
multilingual stream about a demo brand that keeps growing) and a local chat receiver for alerts,
writes a demo config and SQLite database under the data directory's ``demo/``, opens the dashboard,
then polls, classifies and alerts like ``mentiondesk run`` until stopped.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import click
import tomli_w
from sqlalchemy import select

from connectors.emulators import demo_connector_settings, start_emulators
from connectors.emulators.corpus import LANGUAGES
from dashboard import launch as launch_dashboard
from monitor import users
from monitor.access import Role, local_operator
from monitor.alerts.receiver import Receiver
from monitor.config import Config
from monitor.errors import NotFound
from monitor.models import Mention
from monitor.paths import data_dir
from monitor.pipeline import Pipeline
from monitor.poller import PollScheduler, poll_once
from monitor.storage import Database
from monitor.text import terminal_safe
from monitor.workers import sqlite_worker_lock

DEMO_ALERT_TARGET = "demo-chat"
DEMO_USER = "demo"


def write_demo_config(home: Path, settings: dict[str, Any], dashboard_port: int) -> Path:
    """The demo's config file; its secrets (emulator-only) go to the environment, as in production."""
    path = home / "mentiondesk.toml"
    data = {
        "database": {"url": f"sqlite:///{home / 'demo.db'}"},
        "brands": [settings["brand"]],
        "connectors": settings["connectors"],
        "alerts": {
            "targets": [{"name": DEMO_ALERT_TARGET}],
            "dashboard_item_url": f"http://127.0.0.1:{dashboard_port}/?mention={{id}}",
        },
        "dashboard": {"team": ["ana", "ben", "chloe"]},
        # As a brand would list its customers' languages: posts some platforms give no language
        # ("Orbisto me cobró dos veces, ¿en serio?") are then named.
        "sentiment": {"expected_languages": list(LANGUAGES)},
    }
    path.write_text("# Written by `mentiondesk demo`; points at the local emulators.\n" + tomli_w.dumps(data),
                    encoding="utf-8")
    return path


def demo_sign_in(db: Database) -> str:
    """Create (or re-key) the demo's admin user with a fresh random password, and return that password."""
    password = secrets.token_urlsafe(12)
    try:
        users.reset_password(db, local_operator(), DEMO_USER, password)
    except NotFound:
        users.add_user(db, local_operator(), DEMO_USER, Role.ADMIN, password)
    return password


def _print_latest(db: Database, limit: int = 10) -> None:
    with db.read() as session:
        latest = session.scalars(select(Mention).order_by(Mention.created_at.desc()).limit(limit)).all()
    click.echo("latest mentions:")
    for m in latest:
        label = f"{m.sentiment_label} {m.sentiment_score:.2f}, {m.intent}" if m.sentiment_label else "unclassified"
        click.echo(f"  [{m.platform}] {m.created_at:%Y-%m-%d %H:%M} @{terminal_safe(m.author_handle or '?', 30)} "
                   f"({m.lang or '?'}; {label}){' [replyable]' if m.replyable else ''}: {terminal_safe(m.text, 100)}")


def run_demo(home: Path | None = None, once: bool = False, max_seconds: float | None = None,
             dashboard_port: int = 8501) -> None:
    home = home or data_dir() / "demo"
    home.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        running = stack.enter_context(start_emulators(seed=7, live_posts_every=None if once else 5.0))
        receiver = stack.enter_context(Receiver(out=sys.stdout, log_path=home / "alerts.jsonl"))
        settings = demo_connector_settings(running)
        config_path = write_demo_config(home, settings, dashboard_port)
        os.environ.update(settings["env"])
        os.environ[f"MENTIONDESK_ALERT_{DEMO_ALERT_TARGET.upper().replace('-', '_')}_URL"] = receiver.json_url()
        config = Config.load(config_path)
        db = Database.open(config.database_url)
        stack.callback(db.dispose)
        db.upgrade()
        lock = sqlite_worker_lock(db)
        stack.callback(lock.close)
        click.echo("local platform emulators: " + ", ".join(sorted(settings["connectors"])))
        click.echo(f"alerts go to a local receiver ({receiver.json_url()}), printed here and kept in {home / 'alerts.jsonl'}")
        click.echo(f"demo config: {config_path}\ndemo database: {db.display_url}")
        click.echo(f"dashboard sign-in: the demo created the admin user {DEMO_USER!r} with the password "
                   f"{demo_sign_in(db)} (new on every demo run; add your own with `mentiondesk user add`)")
        click.echo("loading the sentiment model…")
        pipeline = Pipeline.from_config(db, config).start()
        stack.callback(pipeline.close)
        if once:
            reports = poll_once(db, config, exclusive=True)
            for report in reports:
                click.echo(f"{report.connector}: {report.stored} new of {report.received} fetched"
                           + (f"; error: {report.error}" if report.error else ""))
            click.echo(f"classified {len(pipeline.process_pending(i for r in reports for i in r.new_ids))} mention(s)")
            if pipeline.alerts is not None:
                pipeline.alerts.drain(30)
            _print_latest(db)
            return
        dashboard = launch_dashboard(config_path, dashboard_port)
        stack.callback(_stop_process, dashboard)
        click.echo(f"dashboard: http://127.0.0.1:{dashboard_port} (sign in as {DEMO_USER!r} with the password above)")
        scheduler = PollScheduler(db, config, pipeline=pipeline, exclusive=True)
        scheduler.install_signal_handlers()
        click.echo("polling the emulators; new posts arrive every few seconds. Ctrl-C to stop.")
        scheduler.run(max_seconds=max_seconds)
        _print_latest(db)


def _stop_process(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
