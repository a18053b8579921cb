"""The `mentiondesk` command. Each command is a thin shell over a `monitor` service."""

from __future__ import annotations

import json
import logging
import os
import sys
from dataclasses import asdict
from datetime import datetime, timezone
from functools import cached_property
from pathlib import Path
from typing import Any, NoReturn

import click
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from monitor import __version__
from monitor.cli_types import Seconds, refuse_own_file, refuse_own_files
from monitor.config import Config, database_url_in, triage_rules_in
from monitor.errors import ConfigError, MentiondeskError
from monitor.logs import log_to_stderr
from monitor.paths import data_dir, default_config_path, make_private_folder
from monitor.storage import Database, DatabaseFull, sqlite_files
from monitor.text import terminal_safe
from sentiment.errors import SentimentError, SettingError

EXAMPLE_CONFIG = Path(__file__).with_name("example_config.toml")
# How long `poll --once` waits for chat deliveries before leaving them to the next run.
ALERT_DRAIN_SECONDS = 30.0
# The exit status a shell reports for a writer that SIGPIPE ended (128 + 13), as `seq 1e9 | head` leaves it.
READER_GONE_STATUS = 141


class CommandFailed(click.ClickException):
    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class _Group(click.Group):
    """Turns our errors into one clear line and an exit code: 2 for bad config, 1 otherwise.

    So do a database that cannot be reached or opened and a file that cannot be read or written:
    the user can fix those, and a traceback only hides what to fix. Output whose reader went away
    (`| head`) ends the command quietly, as it ends standard tools.
    """

    def invoke(self, ctx: click.Context) -> Any:
        try:
            result = super().invoke(ctx)
            sys.stdout.flush()  # here, not at exit, where a reader gone printed "Exception ignored … BrokenPipeError"
            return result
        except BrokenPipeError:
            _end_for_a_reader_gone()
        except (ConfigError, SettingError) as exc:
            raise CommandFailed(str(exc), 2) from None
        except (MentiondeskError, SentimentError) as exc:
            raise CommandFailed(str(exc), 1) from None
        except SQLAlchemyError as exc:
            # The driver's own first line ("connection … failed: Connection refused", "unable to open
            # database file"): SQLAlchemy's adds the statement and a link; neither holds the password.
            reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
            raise CommandFailed(f"database error: {terminal_safe(reason)}", 1) from None
        except OSError as exc:
            where = f"{exc.filename}: " if exc.filename else ""
            raise CommandFailed(f"{where}{exc.strerror or exc}", 1) from None


def _end_for_a_reader_gone() -> NoReturn:
    """Exit quietly with READER_GONE_STATUS, as tools that SIGPIPE ends do: it printed "Error: Broken pipe", exit
    status 1, as if something had failed, and `classify` called its --output bad. (SIGPIPE itself stays ignored: it
    would end a worker whose chat service or database hung up, too.)"""
    try:
        sys.stdout.flush()
    except BrokenPipeError:  # stdout is the closed pipe: what its buffer holds goes nowhere, not into an exit traceback
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    raise click.exceptions.Exit(READER_GONE_STATUS)


class App:
    """Loads config and opens the database once per command, on first use."""

    def __init__(self, config_path: Path | None) -> None:
        self.config_named = config_path is not None  # by --config or MENTIONDESK_CONFIG
        self._named_config_path = config_path
        self._config: Config | None = None

    @cached_property
    def config_path(self) -> Path:
        """Found on first use, so a data directory that cannot be used fails only the commands that read
        the config there (with why), not `--help`."""
        # A "~" from MENTIONDESK_CONFIG (a systemd or .env file) or a quoted --config reaches us unexpanded.
        named = self._named_config_path
        return named.expanduser() if named is not None else default_config_path()

    @property
    def config(self) -> Config:
        if self._config is None:
            self._config = Config.load(self.config_path)
        return self._config

    def triage_rules_if_any(self) -> Any:
        """The config file's ``[triage]`` rules, or None where no file was named and the default one does
        not exist: for `classify`, which then uses the built-in rules."""
        return triage_rules_in(self.config_path) if self.config_named or self.config_path.exists() else None

    def database(self) -> Database:
        db = Database.open(self.config.database_url, key=self.config.database_url_key)
        if db.is_sqlite:
            db.upgrade()  # embedded, one host: keep the file current without a separate step
        else:
            db.check_schema()  # shared server: upgrades are an explicit `mentiondesk db upgrade`
        return db

    def database_files(self) -> list[tuple[Path, str]]:
        """The SQLite database's files (it and what is kept beside it), each with what it is; none on PostgreSQL."""
        # Checked as options are read, before a command loads its config (`classify` needs only its [triage]
        # table, `init` replaces the file): as far as known without loading it, making no folder.
        url = self._config.database_url if self._config is not None else database_url_in(self.config_path)
        return sqlite_files(make_url(url)) if url is not None else []

    def own_files(self) -> list[tuple[Path, str]]:
        """What no output may be written over: the config file and the database's files."""
        return [(self.config_path, "mentiondesk's config file"), *self.database_files()]


pass_app = click.make_pass_decorator(App)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_path", type=click.Path(path_type=Path, dir_okay=False),
              envvar="MENTIONDESK_CONFIG", help="Config file (default: ./mentiondesk.toml, else the data directory's).")
@click.option("-v", "--verbose", count=True, help="More log output (-v info, -vv debug).")
@click.version_option(__version__, prog_name="mentiondesk")
@click.pass_context
def cli(ctx: click.Context, config_path: Path | None, verbose: int) -> None:
    """mentiondesk: monitor brand mentions, triage them and reply from one queue."""
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    log_to_stderr(level)
    ctx.obj = App(config_path)


@cli.command()
@click.argument("path", required=False, type=click.Path(path_type=Path, dir_okay=False))
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
@pass_app
def init(app: App, path: Path | None, force: bool) -> None:
    """Write a commented example config file."""
    target = path or app.config_path
    if force:  # replacing the config is what --force is for; replacing the database is not
        refuse_own_file(target, app.database_files(), "'PATH'")
    if target.exists() and not force:
        raise CommandFailed(f"{target} already exists (use --force to overwrite)")
    if blocking := next((p for p in target.parents if p.exists() and not p.is_dir()), None):
        raise CommandFailed(f"cannot write {target}: {blocking} is a file, not a folder")  # mkdir said "File exists"
    if target.parent == data_dir(create=False):
        make_private_folder(target.parent)  # the data directory, as every command makes it (an /etc folder is not)
    else:
        target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(EXAMPLE_CONFIG.read_text(encoding="utf-8"), encoding="utf-8")
    click.echo(f"wrote {target}; edit it, then run `mentiondesk poll --once`")


def _print_reports(reports: list[Any]) -> None:
    for r in reports:
        if r.skipped and r.ok and not r.pages:
            click.echo(f"{r.connector}: skipped: {r.skipped}")
        elif r.ok:
            click.echo(f"{r.connector}: ok, {r.stored} new of {r.received} fetched in {r.pages} page(s){_set_aside(r)}")
        else:
            click.echo(f"{r.connector}: FAILED: {terminal_safe(r.error or '')} ({r.stored} new stored before it)"
                       f"{_set_aside(r)}")


def _set_aside(report: Any) -> str:
    """Mentions ingest could not store, kept in the audit log (monitor.ingest.SET_ASIDE)."""
    return f", {report.set_aside} set aside (see the audit log)" if report.set_aside else ""


@cli.command()
@click.option("--connector", "only", multiple=True, help="Poll only this connector (repeatable).")
@click.option("--max-seconds", type=Seconds(min=0), help="Stop after this long (default: until SIGINT/SIGTERM).")
@click.option("--health-file", type=click.Path(path_type=Path, dir_okay=False), callback=refuse_own_files,
              help="Keep this JSON file current (every 10 s) with the worker's state, for a supervisor.")
@pass_app
def run(app: App, only: tuple[str, ...], max_seconds: float | None, health_file: Path | None) -> None:
    """Poll every connector on its own interval until stopped (several workers may share PostgreSQL)."""
    _run_worker(app, only, max_seconds, health_file)


def _run_worker(app: App, only: tuple[str, ...], max_seconds: float | None, health_file: Path | None) -> None:
    """`run`, and `poll` without --once, whose bad --connector is reported as its own (it named `poll run`)."""
    from monitor.pipeline import Pipeline
    from monitor.poller import PollScheduler
    from monitor.workers import check_health_file, sqlite_worker_lock

    _check_connector_names(app.config, only)
    if health_file is not None:
        check_health_file(health_file)
    db = app.database()
    lock = sqlite_worker_lock(db)  # held until the process ends
    scheduler = PollScheduler(db, app.config, list(only) or None, pipeline=Pipeline.from_config(db, app.config),
                              health_file=health_file, exclusive=lock is not None)
    scheduler.install_signal_handlers()
    click.echo(f"polling {', '.join(scheduler.poller.connectors)}; Ctrl-C to stop", err=True)
    scheduler.run(max_seconds=max_seconds)
    click.echo("stopped", err=True)


@cli.command()
@click.option("--once", is_flag=True, help="Run one round and exit (non-zero if a connector failed).")
@click.option("--connector", "only", multiple=True, help="Poll only this connector (repeatable).")
@click.pass_context
def poll(ctx: click.Context, once: bool, only: tuple[str, ...]) -> None:
    """Poll the connectors: one round with --once, else the same as `run`."""
    if not once:
        _run_worker(ctx.obj, only, max_seconds=None, health_file=None)
        return
    from monitor.pipeline import Pipeline
    from monitor.poller import poll_once
    from monitor.workers import sqlite_worker_lock

    app: App = ctx.obj
    _check_connector_names(app.config, only)
    db = app.database()
    lock = sqlite_worker_lock(db)  # held until the process ends
    pipeline = Pipeline.from_config(db, app.config).start()
    try:
        reports = poll_once(db, app.config, list(only) or None, exclusive=lock is not None)
        _print_reports(reports)
        classified = pipeline.process_pending(i for r in reports for i in r.new_ids)
        if pipeline.classifier is not None:
            click.echo(f"classified {len(classified)} mention(s)")
        pipeline.tick()
        if pipeline.alerts is not None and not pipeline.alerts.drain(ALERT_DRAIN_SECONDS):
            click.echo("some alerts are still being delivered; `mentiondesk run` will retry them", err=True)
    finally:
        pipeline.close()
    if any(not r.ok for r in reports):
        ctx.exit(1)


@cli.command("classify-pending")
@click.option("--watch", type=Seconds(min=0.1), metavar="SECONDS",
              help="Keep going: look for unclassified mentions every SECONDS until SIGINT/SIGTERM "
                   "(a classify worker beside pollers; any number share the work).")
@pass_app
def classify_pending(app: App, watch: float | None) -> None:
    """Classify every stored mention that has no sentiment yet (a worker for `backend` moves or backlogs)."""
    import signal
    import threading

    from monitor.pipeline import Pipeline
    from monitor.workers import heartbeats, new_worker_id

    db = app.database()
    stop = threading.Event()  # set by SIGINT/SIGTERM under --watch: a backlog stops between reads, not once it is done
    pipeline = Pipeline.from_config(db, app.config, stop_requested=stop.is_set)
    if pipeline.classifier is None:
        raise CommandFailed('[sentiment] backend is "none": nothing to classify with', 2)
    if watch is None:
        click.echo(f"classified {len(pipeline.process_pending())} mention(s)")
        return
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    total = 0
    with heartbeats(db, new_worker_id()):  # a worker, listed by `mentiondesk status` as `run`'s are
        while not stop.is_set():
            try:
                total += len(pipeline.process_pending())
            except SQLAlchemyError as exc:  # the database is away: the mentions wait, try again next time
                logging.getLogger(__name__).warning("classify round failed (%s); trying again",
                                                    exc.__class__.__name__)
            except DatabaseFull as exc:  # nothing of the read was stored; it is claimed again once there is space
                logging.getLogger(__name__).warning("classify round failed: %s; trying again", exc)
            stop.wait(watch)
    click.echo(f"classified {total} mention(s); stopped")


@cli.command()
@pass_app
def retriage(app: App) -> None:
    """Apply the [triage] rules (and expected_languages) again to every classified mention."""
    from monitor.classify import MentionClassifier
    from monitor.retriage import retriage as retriage_mentions
    from sentiment.langdetect import check_languages

    config = app.config

    def load_model() -> MentionClassifier:
        if config.sentiment.backend == "none":
            raise CommandFailed('mentions classified before their probabilities were stored need the model, and '
                                '[sentiment] backend is "none" here: run retriage where the model is', 2)
        return MentionClassifier.load(config.sentiment, config.triage_rules)

    check_languages(config.sentiment.expected_languages)
    result = retriage_mentions(app.database(), config.triage_rules, load_model, config.sentiment.expected_languages,
                               model_batch_size=config.sentiment.batch_size)
    click.echo(f"re-triaged {result.changed + result.unchanged} mention(s): {result.changed} changed, "
               f"{result.unchanged} unchanged; {result.rerun} classified before their probabilities were "
               f"stored ran through the model again; {result.languages_named} without a language got one")


def _check_connector_names(config: Config, names: tuple[str, ...]) -> None:
    enabled = {cc.name for cc in config.enabled_connectors()}
    for name in names:
        if name not in enabled:
            raise click.BadParameter(f"{name!r} is not an enabled connector (enabled: {', '.join(sorted(enabled))})",
                                     param_hint="--connector")


@cli.group()
def db() -> None:
    """Database schema commands."""


@db.command("upgrade")
@pass_app
def db_upgrade(app: App) -> None:
    """Create or migrate the schema to the latest version."""
    database = Database.open(app.config.database_url, key=app.config.database_url_key)
    database.upgrade()
    click.echo(f"{database.display_url} is at schema {database.current_revision()}")


@cli.command()
@click.option("--raw-older-than", "days", type=click.IntRange(1, 36_500),
              help="Days after fetching (default: [retention] raw_payload_days).")
@click.option("--archive", type=click.Path(path_type=Path, dir_okay=False), callback=refuse_own_files,
              help="First append the payloads to this JSONL file (new, or one prune wrote).")
@pass_app
def prune(app: App, days: int | None, archive: Path | None) -> None:
    """Clear old mentions' raw platform payloads; the mentions stay queryable."""
    from datetime import timedelta

    from monitor.retention import NotAnArchive, prune_raw_payloads

    days = days or app.config.retention.raw_payload_days
    if days is None:
        raise click.UsageError("give --raw-older-than DAYS or set [retention] raw_payload_days")
    db = app.database()
    if archive is None:
        count = prune_raw_payloads(db, timedelta(days=days))
    else:
        # A file is opened for reading too, so that it is checked to be an archive and a torn last line is found
        # and cut off; a pipe only for writing.
        with archive.open("a+" if archive.is_file() else "a", encoding="utf-8") as out:
            try:
                count = prune_raw_payloads(db, timedelta(days=days), out)
            except NotAnArchive as exc:
                raise click.BadParameter(str(exc), param_hint="'--archive'") from None
    # To standard error, as export's: the archive may be standard output, and holds nothing but payloads.
    click.echo(f"pruned the raw payloads of {count} mention(s) fetched more than {days} day(s) ago", err=True)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_app
def status(app: App, as_json: bool) -> None:
    """Connector health, last polls and errors, and mention counts."""
    from monitor.status import collect_status

    report = collect_status(app.database(), app.config)
    if as_json:
        click.echo(json.dumps(asdict(report), default=lambda v: v.isoformat() if isinstance(v, datetime) else str(v), indent=2))
        return
    click.echo(f"database: {report.database} (schema {report.schema_revision})")
    if report.search_case_warning:
        click.echo(f"warning: {report.search_case_warning}")
    click.echo(f"mentions: {report.mentions_total} total, {report.unclassified} not yet classified"
               + (f" ({report.classifying} being classified now)" if report.classifying else ""))
    for name, count in sorted(report.mentions_by_platform.items()):
        click.echo(f"  {terminal_safe(name)}: {count}")
    click.echo("by status: " + (", ".join(f"{k} {v}" for k, v in sorted(report.mentions_by_status.items())) or "none"))
    click.echo("connectors:")
    now = datetime.now(timezone.utc)
    for c in report.connectors:
        state = "disabled" if not c.enabled else "failing" if c.consecutive_failures else "ok" if c.last_success_at else "not polled yet"
        click.echo(f"  {c.name}: {state}; every {c.poll_interval_seconds:g}s; last poll {_when(c.last_poll_at)}; "
                   f"last success {_when(c.last_success_at)}; stored {c.mentions_stored}; reads today {c.reads_today}"
                   + (f"/{c.daily_read_cap}" if c.daily_read_cap is not None else ""))
        if c.last_error:
            click.echo(f"    last error ({_when(c.last_error_at)}, {c.consecutive_failures} in a row): {terminal_safe(c.last_error)}")
        if c.backoff_until and c.backoff_until > now:  # one ended is history: it polls on its schedule again
            click.echo(f"    backing off until {_when(c.backoff_until)}")
    if report.workers:
        click.echo("workers:")
    for w in report.workers:
        click.echo(f"  {w.id}: {w.state(now)}; started {_when(w.started_at)}; last heartbeat {_when(w.heartbeat_at)}")
    alerts = report.alerts
    click.echo("alerts (last 24 h): " + (", ".join(f"{k} {v}" for k, v in sorted(alerts.by_status.items())) or "none")
               + f"; last sent {_when(alerts.last_sent_at)}"
               + (f"; FAILING targets: {', '.join(alerts.failing_targets)}" if alerts.failing_targets else ""))
    for event in report.recent_alerts:
        click.echo(f"  {_when(event.created_at)} {event.rule} → {event.target}: {event.status}"
                   + (f" ({terminal_safe(event.reason)})" if event.reason else "")
                   + (f"; error: {terminal_safe(event.error)}" if event.error else ""))


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value else "never"


def _format_for(path: Path, fmt: str | None, default: str | None = None) -> str:
    """--format if given, else the file's extension (.jsonl/.json/.csv), else ``default``."""
    if fmt:
        return fmt
    by_suffix = {".csv": "csv", ".jsonl": "jsonl", ".json": "jsonl"}.get(path.suffix.lower(), default)
    if by_suffix is None:
        raise click.BadParameter("cannot tell the format from the file name; pass --format jsonl or csv",
                                 param_hint="--format")
    return by_suffix


@cli.command()
@click.option("--output", "-o", type=click.Path(path_type=Path, dir_okay=False, allow_dash=True), default="-",
              callback=refuse_own_files, help="File to write (default: standard output).")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), help="Default: from the file name, else jsonl.")
@click.option("--brand", help="Only this brand (its key, e.g. acme).")
@click.option("--platform", help="Only this platform.")
@click.option("--since", type=click.DateTime(), help="Only mentions created at or after this UTC time.")
@pass_app
def export(app: App, output: Path, fmt: str | None, brand: str | None, platform: str | None, since: datetime | None) -> None:
    """Export mentions as JSONL or CSV; a file is replaced only once the export is complete."""
    from monitor.transfer import check_export_filters, iter_export, utf8_stdout, write_export, write_export_file

    fmt = _format_for(output, fmt, default="jsonl")
    db = app.database()
    check_export_filters(db, brand, platform, [b.key for b in app.config.brands], app.config.connectors)
    records = iter_export(db, brand, platform, since.replace(tzinfo=timezone.utc) if since else None)
    if str(output) == "-":
        with utf8_stdout() as out:
            count = write_export(records, out, fmt)  # type: ignore[arg-type]
    else:
        count = write_export_file(records, output, fmt)  # type: ignore[arg-type]
    click.echo(f"exported {count} mention(s)", err=True)


@cli.command("import")
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), help="Default: from the file name.")
@pass_app
def import_(app: App, path: Path, fmt: str | None) -> None:
    """Import mentions from JSONL or CSV; bad lines are reported and skipped, existing ones kept."""
    from monitor.access import local_operator
    from monitor.ingest import sync_brands
    from monitor.transfer import import_mentions, open_import

    fmt = _format_for(path, fmt)
    db = app.database()
    sync_brands(db, app.config.brands, {})  # as `poll` does: a fresh database knows the config's brands
    with open_import(path) as source:  # a line that is not UTF-8 is one bad line, not the end of the import
        result = import_mentions(db, source, fmt, local_operator())  # type: ignore[arg-type]
    for error in result.errors:
        click.echo(f"{path}: {terminal_safe(error)}", err=True)
    click.echo(f"imported {result.stored} new, {result.duplicates} already stored, {len(result.errors)} bad line(s)")
    if result.errors:
        raise CommandFailed(f"{len(result.errors)} line(s) were not imported")


@cli.command()
@click.option("--home", type=click.Path(path_type=Path, file_okay=False),
              help="Folder for the demo's config and database (default: the data directory's demo/).")
@click.option("--once", is_flag=True, help="Poll and classify one round, print the latest mentions, exit.")
@click.option("--max-seconds", type=Seconds(min=0), help="Stop after this long.")
@click.option("--port", type=click.IntRange(1, 65535), default=8501, show_default=True, help="Dashboard port.")
def demo(home: Path | None, once: bool, max_seconds: float | None, port: int) -> None:
    """Run mentiondesk on local emulators of every built-in platform, with nothing to configure."""
    from monitor.demo import run_demo

    run_demo(home, once=once, max_seconds=max_seconds, dashboard_port=port)


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(1, 65535), default=8501, show_default=True)
@pass_app
def dashboard(app: App, host: str, port: int) -> None:
    """Open the triage dashboard (Streamlit) for this config; SIGINT or SIGTERM stops it."""
    from dashboard.launch import check_port_free, run as run_dashboard

    app.database().dispose()  # fail here, with a clear message, on a bad config or schema
    check_port_free(host, port)  # before the address is printed: a port another program holds is not ours
    click.echo(f"dashboard: http://{host}:{port}", err=True)
    raise SystemExit(run_dashboard(app.config_path, port, host=host))


def _add_commands_from_other_modules() -> None:
    from monitor.access_cli import audit_group, user_group
    from monitor.incidents_cli import followups_group, incidents_group
    from monitor.report import report_command
    from sentiment.cli import classify_command, evaluate_command

    cli.add_command(user_group)
    cli.add_command(audit_group)
    cli.add_command(incidents_group)
    cli.add_command(followups_group)
    # classify's --output refuses mentiondesk's own files, as ours do (sentiment/ does not know monitor's files).
    next(p for p in classify_command.params if p.name == "output_path").callback = refuse_own_files
    cli.add_command(classify_command)
    cli.add_command(evaluate_command)
    cli.add_command(report_command)


_add_commands_from_other_modules()


def main() -> None:
    cli(prog_name="mentiondesk")
