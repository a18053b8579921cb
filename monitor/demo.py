"""`mentiondesk demo`: the product on local platform emulators, with nothing to configure.

It starts the local platform emulators (X, Reddit, Mastodon, Bluesky, Hacker News, RSS: a reproducible
multilingual stream about a demo brand that keeps growing) and a local chat receiver for alerts,
writes a demo config (its emulator-only secrets in a 0600 secrets file beside it, so other commands work
with ``--config``) and SQLite database under the data directory's ``demo/``, opens the dashboard,
then polls, classifies and alerts like ``mentiondesk run`` until stopped. It refuses a ``--home``
holding a config, database, alert log or secrets file it did not write itself.
"""

from __future__ import annotations

import os
import secrets
import shlex
import sys
from collections.abc import Mapping
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
from monitor.config import DATABASE_URL_ENV, SECRETS_FILE_ENV, Config
from monitor.errors import MentiondeskError, NotFound
from monitor.models import Mention
from monitor.paths import data_dir, sqlite_url
from monitor.pipeline import Pipeline
from monitor.poller import PollScheduler, poll_once
from monitor.storage import WORKER_LOCK_SUFFIX, Database
from monitor.text import terminal_author, terminal_safe
from monitor.workers import sqlite_worker_lock

DEMO_ALERT_TARGET = "demo-chat"
DEMO_USER = "demo"
DEMO_CONFIG = "mentiondesk.toml"
# The emulators' made-up secrets and the alert receiver's URL, which the demo's config names as its secrets_file.
DEMO_SECRETS_FILE = "emulator-secrets.env"
DEMO_DATABASE = "demo.db"
DASHBOARD_HOST = "127.0.0.1"
# The first line of every config the demo writes: how a later run knows the folder is the demo's own.
DEMO_CONFIG_MARKER = "# Written by `mentiondesk demo`"
# What the demo writes beside its config: its SQLite database (with SQLite's and the worker's side
# files), the local chat receiver's log and its secrets file.
DEMO_ALERT_LOG = "alerts.jsonl"
DEMO_DATA_FILES = (DEMO_DATABASE, f"{DEMO_DATABASE}-wal", f"{DEMO_DATABASE}-shm", DEMO_DATABASE + WORKER_LOCK_SUFFIX,
                   DEMO_ALERT_LOG, DEMO_SECRETS_FILE)


class DemoHomeInUse(MentiondeskError):
    """The demo's folder holds a file the demo did not write, which a run would overwrite or add to."""


class DemoWouldLeaveItsHome(MentiondeskError):
    """The environment names a database or secrets file, which win over the demo's config: the demo's made-up
    mentions would go into that database (a production one, in a shell set up for it)."""


def check_demo_environment(env: Mapping[str, str]) -> None:
    for name in (DATABASE_URL_ENV, SECRETS_FILE_ENV):
        if env.get(name):
            raise DemoWouldLeaveItsHome(f"{name} is set, and it would win over the demo's own config: the demo would "
                                        "write its made-up mentions into that database or read that file; unset it "
                                        "to run the demo (the demo keeps everything in its own folder)")


def _written_by_demo(config_path: Path) -> bool:
    try:
        with config_path.open("rb") as f:
            return f.readline().startswith(DEMO_CONFIG_MARKER.encode())
    except OSError:  # a folder, or unreadable: not a config this demo wrote
        return False


def check_demo_home(home: Path) -> None:
    """Refuse a folder holding a config, database, alert log or secrets file the demo did not write.

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


def _write_owner_only(path: Path, text: str) -> None:
    """Write ``path`` readable by its owner alone (mode 0600), as the config's secrets_file must be."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        os.fchmod(fd, 0o600)  # a file already there keeps its mode through O_CREAT
        f.write(text)


def demo_database_url(home: Path) -> str:
    """The demo's SQLite database in ``home``, absolute: a relative one in its config is from the config's folder."""
    return sqlite_url(home.resolve() / DEMO_DATABASE)


def write_demo_config(home: Path, settings: dict[str, Any], dashboard_port: int,
                      demo_secrets: Mapping[str, str] = {}) -> Path:
    """The demo's config file, and beside it its secrets file holding ``demo_secrets`` (emulator-only: the
    emulators' made-up tokens and the local alert receiver's URL), so that any command run with the demo's
    config (``--config``), such as ``user add``, finds the secrets every configured connector needs."""
    _write_owner_only(home / DEMO_SECRETS_FILE,
                      f"{DEMO_CONFIG_MARKER}: the local emulators' made-up secrets, nothing real.\n"
                      + "".join(f"{name}={value}\n" for name, value in demo_secrets.items()))
    path = home / DEMO_CONFIG
    data = {
        "secrets_file": DEMO_SECRETS_FILE,
        "database": {"url": demo_database_url(home)},
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


def user_add_command(config_path: Path) -> str:
    """The shell command that adds a user NAME to the demo's database: this installation's `mentiondesk` (the
    quickstart's .venv is not on PATH) with the demo's config, whose secrets file the command reads."""
    script = Path(sys.executable).parent / "mentiondesk"
    program = str(script) if script.is_file() else "mentiondesk"
    return shlex.join([program, "--config", str(config_path.resolve()), "user", "add", "NAME"])


def _print_latest(db: Database, limit: int = 10) -> None:
    with db.read() as session:
        latest = session.scalars(select(Mention).order_by(Mention.created_at.desc()).limit(limit)).all()
    click.echo("latest mentions:")
    for m in latest:
        label = f"{m.sentiment_label} {m.sentiment_score:.2f}, {m.intent}" if m.sentiment_label else "unclassified"
        click.echo(f"  [{terminal_safe(m.platform)}] {m.created_at:%Y-%m-%d %H:%M} "
                   f"{terminal_author(m.author_handle, 30)} ({m.lang or '?'}; {label})"
                   f"{' [replyable]' if m.replyable else ''}: {terminal_safe(m.text, 100)}")


def run_demo(home: Path | None = None, once: bool = False, max_seconds: float | None = None,
             dashboard_port: int = 8501) -> None:
    home = home or data_dir() / "demo"
    check_demo_environment(os.environ)  # before anything starts or is written
    check_demo_home(home)
    if not once:  # the demo's alerts link to its dashboard: a port it cannot have stops it here, not after the start
        check_port_free(DASHBOARD_HOST, dashboard_port)
    home.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        running = stack.enter_context(start_emulators(seed=7, live_posts_every=None if once else 5.0))
        receiver = stack.enter_context(Receiver(out=sys.stdout, log_path=home / DEMO_ALERT_LOG))
        # The lock before anything is written: a second demo on this home, refused by it, rewrote the running demo's
        # config and secrets file to name its own emulators and receiver (gone with it) and upgraded its database.
        # After the emulators start (they write nothing here), so the lock file comes just before the config that
        # marks a new folder as the demo's: a run stopped between the two would leave one every later run refuses.
        db = Database.open(demo_database_url(home))
        stack.callback(db.dispose)
        lock = sqlite_worker_lock(db)
        stack.callback(lock.close)
        settings = demo_connector_settings(running)
        demo_secrets = {**settings["env"],
                        f"MENTIONDESK_ALERT_{DEMO_ALERT_TARGET.upper().replace('-', '_')}_URL": receiver.json_url()}
        config_path = write_demo_config(home, settings, dashboard_port, demo_secrets)
        # Here too, as the environment wins over the secrets file: real tokens in the shell never reach the emulators.
        os.environ.update(demo_secrets)
        config = Config.load(config_path)
        db.upgrade()
        click.echo("local platform emulators: " + ", ".join(sorted(settings["connectors"])))
        click.echo(f"alerts go to a local receiver ({receiver.json_url()}), printed here and kept in {home / DEMO_ALERT_LOG}")
        click.echo(f"demo config: {config_path}\ndemo database: {db.display_url}")
        click.echo(f"dashboard sign-in: the demo created the admin user {DEMO_USER!r} with the password "
                   f"{demo_sign_in(db)} (new on every demo run)")
        click.echo(f"add your own users with: {user_add_command(config_path)}")
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
        scheduler = PollScheduler(db, config, pipeline=pipeline, exclusive=True)
        # Before the dashboard starts, as `mentiondesk dashboard` does, handlers that only set the stop flag: until
        # they were installed SIGTERM ended the demo outright, skipping its clean-up, and the dashboard it had started
        # went on holding the port, so every later demo stopped with "port ... already in use".
        scheduler.install_signal_handlers()
        dashboard = launch_dashboard(config_path, dashboard_port, host=DASHBOARD_HOST)
        stack.callback(stop_dashboard, dashboard)
        wait_until_serving(dashboard, DASHBOARD_HOST, dashboard_port, stopping=scheduler.stop_event.is_set)
        if scheduler.stop_event.is_set():  # told to stop while the dashboard started: nothing was polled
            scheduler.poller.close()
            return
        click.echo(f"dashboard: http://{DASHBOARD_HOST}:{dashboard_port} "
                   f"(sign in as {DEMO_USER!r} with the password above)")
        click.echo("polling the emulators; new posts arrive every few seconds. Ctrl-C to stop.")
        scheduler.run(max_seconds=max_seconds)
        _print_latest(db)
