"""`mentiondesk demo`: the product on local platform emulators, with nothing to configure.

It starts the local platform emulators (X, Reddit, Mastodon, Bluesky, Hacker News, RSS: a reproducible
multilingual stream about a demo brand that keeps growing) and a local chat receiver for alerts,
writes a demo config and SQLite database under the data directory's ``demo/``, opens the dashboard,
then polls, classifies and alerts like ``mentiondesk run`` until stopped. It refuses a ``--home``
holding a config, database or alert log it did not write itself.
"""

from __future__ import annotations

import os
import secrets
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import click
import tomli_w
from sqlalchemy import select

from connectors.emulators import demo_connector_settings, start_emulators
from connectors.emulators.corpus import LANGUAGES
from dashboard.launch import check_port_free, launch as launch_dashboard, stop as stop_dashboard, wait_until_serving
from monitor import users
from monitor.access import Role, local_operator
from monitor.alerts.receiver import Receiver
from monitor.config import Config
from monitor.errors import MentiondeskError, NotFound
from monitor.models import Mention
from monitor.paths import data_dir, sqlite_url
from monitor.pipeline import Pipeline
from monitor.poller import PollScheduler, poll_once
from monitor.storage import Database
from monitor.text import terminal_author, terminal_safe
from monitor.workers import sqlite_worker_lock

DEMO_ALERT_TARGET = "demo-chat"
DEMO_USER = "demo"
DEMO_CONFIG = "mentiondesk.toml"
DEMO_DATABASE = "demo.db"
DASHBOARD_HOST = "127.0.0.1"
# The first line of every config the demo writes: how a later run knows the folder is the demo's own.
DEMO_CONFIG_MARKER = "# Written by `mentiondesk demo`"
# What the demo writes beside its config: its SQLite database (with SQLite's and the worker's side
# files) and the local chat receiver's log.
DEMO_ALERT_LOG = "alerts.jsonl"
DEMO_DATA_FILES = (DEMO_DATABASE, f"{DEMO_DATABASE}-wal", f"{DEMO_DATABASE}-shm", f"{DEMO_DATABASE}.worker.lock",
                   DEMO_ALERT_LOG)


class DemoHomeInUse(MentiondeskError):
    """The demo's folder holds a file the demo did not write, which a run would overwrite or add to."""


def _written_by_demo(config_path: Path) -> bool:
    try:
        with config_path.open("rb") as f:
            return f.readline().startswith(DEMO_CONFIG_MARKER.encode())
    except OSError:  # a folder, or unreadable: not a config this demo wrote
        return False


def check_demo_home(home: Path) -> None:
    """Refuse a folder holding a config, database or alert log the demo did not write.

    The demo rewrites its config and writes mentions, a user and alerts into its database on every
    run; pointed at a user's own folder (``--home .``) it would replace their config and mix demo
    data into their database. A folder whose config starts with the demo's marker is the demo's
    own, and so is everything in it that the demo writes.
    """
    another = "give --home another folder (a new or empty one)"
    config_path = home / DEMO_CONFIG
    if config_path.exists() or config_path.is_symlink():
        if _written_by_demo(config_path):
            return
        raise DemoHomeInUse(f"{config_path} was not written by `mentiondesk demo`, and the demo would "
                            f"overwrite it; {another}")
    found = next((home / name for name in DEMO_DATA_FILES if (home / name).exists()), None)
    if found is not None:
        raise DemoHomeInUse(f"{found} is there without a config written by `mentiondesk demo`, so it may not be "
                            f"the demo's, and the demo would write its own data into it; {another}")


def write_demo_config(home: Path, settings: dict[str, Any], dashboard_port: int) -> Path:
    """The demo's config file; its secrets (emulator-only) go to the environment, as in production."""
    path = home / DEMO_CONFIG
    data = {
        "database": {"url": sqlite_url(home.resolve() / DEMO_DATABASE)},  # a relative one is from the config's folder
        "brands": [settings["brand"]],
        "connectors": settings["connectors"],
        "alerts": {
            "targets": [{"name": DEMO_ALERT_TARGET}],
            "dashboard_item_url": f"http://{DASHBOARD_HOST}:{dashboard_port}/?mention={{id}}",
        },
        "dashboard": {"team": ["ana", "ben", "chloe"]},
        # As a brand would list its customers' languages: posts some platforms give no language
        # ("Orbisto me cobró dos veces, ¿en serio?") are then named.
        "sentiment": {"expected_languages": list(LANGUAGES)},
    }
    path.write_text(f"{DEMO_CONFIG_MARKER}; points at the local emulators.\n" + tomli_w.dumps(data),
                    encoding="utf-8")
    return path


def demo_sign_in(db: Database) -> str:
    """Create (or re-key) the demo's admin user with a fresh random password, and return that password.
    A demo user demoted or disabled in this database is made an active admin again: the sign-in the demo
    prints must work, as an admin."""
    operator = local_operator()
    password = secrets.token_urlsafe(12)
    try:
        users.reset_password(db, operator, DEMO_USER, password)
    except NotFound:
        users.add_user(db, operator, DEMO_USER, Role.ADMIN, password)
        return password
    demo = next(user for user in users.list_users(db, operator) if user.name == DEMO_USER)
    if demo.disabled_at is not None:
        users.enable_user(db, operator, DEMO_USER)
    if demo.role != Role.ADMIN.value:
        users.set_role(db, operator, DEMO_USER, Role.ADMIN)
    return password


def _print_latest(db: Database, limit: int = 10) -> None:
    with db.read() as session:
        latest = session.scalars(select(Mention).order_by(Mention.created_at.desc()).limit(limit)).all()
    click.echo("latest mentions:")
    for m in latest:
        label = f"{m.sentiment_label} {m.sentiment_score:.2f}, {m.intent}" if m.sentiment_label else "unclassified"
        click.echo(f"  [{m.platform}] {m.created_at:%Y-%m-%d %H:%M} {terminal_author(m.author_handle, 30)} "
                   f"({m.lang or '?'}; {label}){' [replyable]' if m.replyable else ''}: {terminal_safe(m.text, 100)}")


def run_demo(home: Path | None = None, once: bool = False, max_seconds: float | None = None,
             dashboard_port: int = 8501) -> None:
    home = home or data_dir() / "demo"
    check_demo_home(home)  # before anything starts or is written
    if not once:  # the demo's alerts link to its dashboard: a port it cannot have stops it here, not after the start
        check_port_free(DASHBOARD_HOST, dashboard_port)
    home.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        running = stack.enter_context(start_emulators(seed=7, live_posts_every=None if once else 5.0))
        receiver = stack.enter_context(Receiver(out=sys.stdout, log_path=home / DEMO_ALERT_LOG))
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
        click.echo(f"alerts go to a local receiver ({receiver.json_url()}), printed here and kept in {home / DEMO_ALERT_LOG}")
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
        dashboard = launch_dashboard(config_path, dashboard_port, host=DASHBOARD_HOST)
        stack.callback(stop_dashboard, dashboard)
        wait_until_serving(dashboard, DASHBOARD_HOST, dashboard_port)
        click.echo(f"dashboard: http://{DASHBOARD_HOST}:{dashboard_port} "
                   f"(sign in as {DEMO_USER!r} with the password above)")
        scheduler = PollScheduler(db, config, pipeline=pipeline, exclusive=True)
        scheduler.install_signal_handlers()
        click.echo("polling the emulators; new posts arrive every few seconds. Ctrl-C to stop.")
        scheduler.run(max_seconds=max_seconds)
        _print_latest(db)
