"""Polling: one round (``poll_once``) or forever on each connector's interval (``PollScheduler``).

Each connector polls in its own thread, so one that hangs, fails or is rate limited backs off on
its own while the others carry on. Pages are stored by :mod:`monitor.ingest` as they arrive.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path

import schedule
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from connectors.base import Connector, ConnectorError, Query, RateLimited, UnexpectedError
from monitor.backoff import doubled
from monitor.config import Config, ConnectorConfig
from monitor.errors import IngestError
from monitor.ingest import count_usage, dialect_insert, ingest_page, read_cursor, sync_brands, usage_today
from monitor.models import ConnectorStatus, utcnow
from monitor.pipeline import Pipeline, PipelineWorker
from monitor.redact import mask
from monitor.retention import prune_raw_payloads
from monitor.storage import Database, DatabaseFull
from monitor.workers import (HEARTBEAT_SECONDS, claim_poll, heartbeat, holds_poll, new_worker_id, release_poll,
                             renew_poll, write_health_file)

log = logging.getLogger("mentiondesk.poller")

MAX_ERROR_BACKOFF_SECONDS = 3600.0
ALERT_TICK_SECONDS = 60.0
# With several workers a query counts as due again after this share of its poll interval.
DUE_FRACTION = 0.8
REPORT_HISTORY = 1000
# Why a round fetched no further page or query: the worker was told to stop.
STOPPING = "stopping"
_ERROR_TEXT_LIMIT = 500
# A worker's prune that failed (the database locked by a long write elsewhere, or away) is tried again this long
# after, doubled with each failure up to the hour; it waited for the next day's.
RETENTION_RETRY_SECONDS = 300.0
RETENTION_MAX_RETRY_SECONDS = 3600.0


@dataclass
class ConnectorReport:
    connector: str
    pages: int = 0
    received: int = 0
    new_ids: list[int] = field(default_factory=list)
    # Fetched mentions ingest could not store; each is in the audit log (monitor.ingest.SET_ASIDE).
    set_aside: int = 0
    error: str | None = None
    # Why the connector was not polled (back-off, daily cap); not a failure of this round.
    skipped: str | None = None
    # Queries another worker was polling, or had polled within the interval.
    leased_elsewhere: int = 0

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def stored(self) -> int:
        return len(self.new_ids)


def _database_error(exc: SQLAlchemyError | DatabaseFull) -> str:
    """The driver's own first line (SQLAlchemy's text would add our SQL and its parameters)."""
    return str(getattr(exc, "orig", None) or exc).strip().split("\n", 1)[0][:_ERROR_TEXT_LIMIT]


def _status(session: Session, name: str) -> ConnectorStatus:
    """The connector's status row, locked for this transaction (workers on several hosts update it)."""
    session.execute(dialect_insert(session)(ConnectorStatus.__table__)
                    .values(connector=name, consecutive_failures=0, mentions_stored=0)
                    .on_conflict_do_nothing(index_elements=["connector"]))
    status = session.get(ConnectorStatus, name, with_for_update=True, populate_existing=True)
    assert status is not None
    return status


def _rate_limited(status: ConnectorStatus, now: datetime) -> bool:
    """A rate limit that has not run out holds for every worker, however their rounds went: one worker
    was told to wait while another's page was in flight, and lifting it sent every worker back into the
    used-up window (on X, billed reads). Only the platform's next answer (a new ``retry_after``) replaces it."""
    return status.backoff_reason == "rate_limit" and status.backoff_until is not None and status.backoff_until > now


def _error_backoff(status: ConnectorStatus, interval: float) -> float:
    """Seconds to back off for an error: twice the last back-off where that was for an error too, else
    the poll interval. Read from that back-off (from the start of its round, ``last_poll_started_at``, to
    its end), not from ``consecutive_failures``, which also counts the failures of only some sources:
    those do not back off, so must not lengthen the next back-off either."""
    if status.backoff_reason != "error" or status.backoff_until is None or status.last_poll_started_at is None:
        return interval
    last = (status.backoff_until - status.last_poll_started_at).total_seconds()
    return doubled(max(last, interval), 1, max(MAX_ERROR_BACKOFF_SECONDS, interval))


def record_failure(db: Database, cc: ConnectorConfig, message: str, retry_after: float | None = None, *,
                   back_off: bool = True, stored: int = 0, started: datetime | None = None) -> datetime:
    """Store the error and the back-off (none if ``back_off`` is false: only some of the connector's
    sources failed, and the rest must not wait for them); returns when the connector may poll again.

    ``started``: when the failed round began (default: now). An error back-off runs from then, as the
    schedule counts its interval from the start of a round: measured from the end of the failed poll,
    the round due as it ran out came a moment early and was skipped. A rate limit runs from now, as
    long as the platform asked. A rate limit still running is kept (see :func:`_rate_limited`), and an
    error back-off never ends one that another worker stored earlier."""
    now = utcnow()
    started = started or now
    with db.write() as session:
        status = _status(session, cc.name)
        status.consecutive_failures = (status.consecutive_failures or 0) + 1
        status.mentions_stored = (status.mentions_stored or 0) + stored
        if retry_after is not None:
            status.backoff_until = now + timedelta(seconds=retry_after) if retry_after else None
            status.backoff_reason = "rate_limit"
        elif _rate_limited(status, now):
            pass  # kept: the platform said how long every worker waits, whatever this round's error
        elif back_off:
            until = started + timedelta(seconds=_error_backoff(status, cc.settings.poll_interval_seconds))
            # Never shortens a back-off still running (another worker's, stored while this round ran).
            if status.backoff_until is None or status.backoff_until <= now or until > status.backoff_until:
                status.backoff_until, status.backoff_reason = until, "error"
        else:  # some sources worked: the platform answers, as after a success
            status.backoff_until = status.backoff_reason = None
        status.last_error, status.last_error_at = message, now
        status.last_poll_started_at, status.last_poll_finished_at = started, now
        return status.backoff_until or now


def _blocked(db: Database, cc: ConnectorConfig, ignore_error_backoff: bool) -> str | None:
    now = utcnow()
    with db.read() as session:
        status = session.get(ConnectorStatus, cc.name)
        if status and status.backoff_until and status.backoff_until > now:
            if status.backoff_reason == "rate_limit" or not ignore_error_backoff:
                return f"backing off until {status.backoff_until:%Y-%m-%d %H:%M:%S} UTC ({status.backoff_reason})"
        cap = cc.settings.daily_read_cap
        if cap is not None and usage_today(session, cc.name) >= cap:
            return f"daily read cap of {cap} reached"
    return None


def poll_connector(
    db: Database,
    cc: ConnectorConfig,
    connector: Connector,
    queries: list[tuple[Query, int]],
    *,
    owner: str,
    ignore_error_backoff: bool = False,
    min_interval_seconds: float = 0.0,
    exclusive: bool = False,
    round_started: datetime | None = None,
    stop: threading.Event | None = None,
) -> ConnectorReport:
    """Fetch every query's new pages and store them; never raises for connector trouble.

    Each query is polled only under its lease (see :mod:`monitor.workers`): a query another worker
    is polling, or polled less than ``min_interval_seconds`` before ``round_started`` (default: when
    it is claimed), is left alone; one polled here counts as polled at ``round_started``. Once
    ``stop`` is set no further page or query is fetched; what was fetched is stored with its cursor.
    A round that fetched nothing (every query left alone, or stopped first) is not recorded: it
    says nothing of the platform, so the connector's status and back-off stay as they were.
    """
    report = ConnectorReport(cc.name)
    report.skipped = _blocked(db, cc, ignore_error_backoff)
    if report.skipped:
        return report
    started = round_started or utcnow()
    errors: list[str] = []
    source_errors: list[str] = []  # sources that failed while the connector went on with its others
    retry_after: float | None = None
    # Renewed before every page, so the lease only has to outlast one page; a dead worker's
    # queries are free again within timeout_seconds.
    lease_seconds = cc.settings.timeout_seconds
    for query, query_id in queries:
        if stop is not None and stop.is_set():
            report.skipped = STOPPING
            break
        if not claim_poll(db, query_id, owner, lease_seconds, min_interval_seconds, exclusive, round_started):
            report.leased_elsewhere += 1
            continue
        try:
            with db.read() as session:
                cursor = read_cursor(session, query_id)
            for page in range(cc.settings.max_pages_per_poll):
                if stop is not None and stop.is_set():
                    report.skipped = STOPPING  # the pages so far are stored, each with its cursor
                    break
                if (reason := _blocked(db, cc, ignore_error_backoff=True)) is not None:
                    report.skipped = reason
                    break
                if page and not renew_poll(db, query_id, owner, lease_seconds):
                    break  # our lease ran out and another worker took the query over
                try:
                    result = connector.fetch(query, cursor)
                except ConnectorError as exc:
                    if exc.resume is None:
                        count_usage(db, cc.name, exc.units_used)  # a resume page's are counted as it is stored
                        raise
                    if isinstance(exc, UnexpectedError):  # recorded as the source's error, and never silently
                        log.error("connector %s crashed on query %s: %s", cc.name, query.key,
                                  exc.resume.source_error, exc_info=exc)
                    result = exc.resume  # one source failed: store the cursor past it, go on with the rest
                stored = ingest_page(db, connector=cc.name, query_id=query_id, result=result,
                                     renew_lease=partial(holds_poll, query_id=query_id, owner=owner,
                                                         lease_seconds=lease_seconds))
                report.pages += 1
                report.received += stored.received
                report.new_ids.extend(stored.new_ids)
                report.set_aside += stored.set_aside
                if result.ack is not None:
                    connector.acknowledge(result.ack)
                if result.source_error:
                    source_errors.append(f"{query.key}: {result.source_error}")
                cursor = result.next_cursor
                if stored.lease_lost or not result.has_more:
                    break  # lost: another worker polls the query now, from the cursor it stored
        except RateLimited as exc:
            errors.append(f"{query.key}: rate limited: {exc}")
            retry_after = exc.retry_after
            break  # the limit is per client: the other queries would hit it too
        except (ConnectorError, IngestError, DatabaseFull) as exc:
            errors.append(f"{query.key}: {exc}")
        except SQLAlchemyError as exc:  # the database went away mid-page; the page is read again next round
            errors.append(f"{query.key}: database error: {_database_error(exc)}")
        except Exception as exc:  # a connector bug must not stop the others
            log.exception("connector %s crashed on query %s", cc.name, query.key)
            # Its type only: the text may quote the payload (the traceback above has it).
            errors.append(f"{query.key}: unexpected {exc.__class__.__name__} in the {cc.name} connector; "
                          "the traceback is in the worker log")
        finally:
            release_poll(db, query_id, owner)
    if errors or source_errors:
        # Error text from client libraries can quote URLs or headers; never let a secret through.
        report.error = mask("; ".join(errors + source_errors), cc.secrets.values())[:_ERROR_TEXT_LIMIT]
        # Every source failing looks like the platform, or the credentials, not one feed: back off then.
        back_off = bool(errors) or len(source_errors) == report.pages
        until = record_failure(db, cc, report.error, retry_after, back_off=back_off, stored=report.stored,
                               started=started)
        # A back-off runs from the round's start: a round slower than it has nothing to wait for.
        next_try = f"next try after {until.isoformat()}" if until > utcnow() else "next try at its next round"
        log.warning("connector %s failed, %s: %s", cc.name, next_try, report.error)
    elif not report.pages:
        if not queries:
            report.skipped = "no brand uses this connector"
        elif report.skipped is None:  # every query was another worker's, or not due
            recently = f", or polled less than {min_interval_seconds:g}s ago" if min_interval_seconds else ""
            report.skipped = f"being polled by another worker{recently}"
        log.info("connector %s not polled: %s", cc.name, report.skipped)
    else:
        now = utcnow()
        with db.write() as session:
            status = _status(session, cc.name)
            status.last_poll_started_at = started
            status.last_poll_finished_at = status.last_success_at = now
            status.consecutive_failures = 0
            if not _rate_limited(status, now):
                status.backoff_until = status.backoff_reason = None
            status.mentions_stored = (status.mentions_stored or 0) + report.stored
        log.info("connector %s: %d pages, %d new of %d fetched, %d set aside", cc.name, report.pages, report.stored,
                 report.received, report.set_aside)
    return report


class _PollThread(threading.Thread):
    """One connector's poll; daemon, so a hung platform cannot keep the process alive."""

    def __init__(self, db: Database, cc: ConnectorConfig, connector: Connector, queries: list[tuple[Query, int]],
                 owner: str, one_off: bool, exclusive: bool, stop: threading.Event | None) -> None:
        super().__init__(daemon=True, name=f"poll-{cc.name}")
        self._poll_args = (db, cc, connector, queries)
        self._owner, self._exclusive, self._stopping = owner, exclusive, stop
        # A one-off round retries failed connectors now and polls even if polled a moment ago.
        self._one_off = one_off
        self.report: ConnectorReport | None = None
        self.started_at = time.monotonic()
        # When the schedule started the round: scheduled rounds are an interval apart by this clock.
        self.round_started = utcnow()

    def run(self) -> None:
        cc = self._poll_args[1]
        try:
            self.report = poll_connector(
                *self._poll_args, owner=self._owner, ignore_error_backoff=self._one_off, exclusive=self._exclusive,
                min_interval_seconds=0.0 if self._one_off else cc.settings.poll_interval_seconds * DUE_FRACTION,
                round_started=self.round_started, stop=self._stopping,
            )
        except (SQLAlchemyError, DatabaseFull) as exc:  # the database went away mid-poll; the next round retries
            self.report = ConnectorReport(cc.name, error=f"database error: {_database_error(exc)}")
            log.warning("connector %s: %s", cc.name, self.report.error)


class Poller:
    """Holds one instance per enabled connector (reusing HTTP sessions and rate-limit state)."""

    def __init__(self, db: Database, config: Config, only: list[str] | None = None,
                 worker_id: str | None = None, exclusive: bool = False) -> None:
        self.db, self.config = db, config
        self.worker_id = worker_id or new_worker_id()
        # The only worker on this database (SQLite, lock held): leases of dead processes are void.
        self.exclusive = exclusive
        chosen = [cc for cc in config.enabled_connectors() if only is None or cc.name in only]
        query_ids = sync_brands(db, config.brands, {cc.name: config.queries_for(cc.name) for cc in chosen})
        self.connectors = {cc.name: (cc, cc.create()) for cc in chosen}
        self.queries = {
            cc.name: [(q, query_ids[(cc.name, q.key)]) for q in config.queries_for(cc.name)] for cc in chosen
        }

    def start(self, name: str, one_off: bool = False, stop: threading.Event | None = None) -> _PollThread:
        """Poll connector `name` on a new thread; once `stop` is set, it ends after the page in flight."""
        cc, connector = self.connectors[name]
        thread = _PollThread(self.db, cc, connector, self.queries[name], self.worker_id, one_off, self.exclusive, stop)
        thread.start()
        return thread

    def timed_out(self, name: str, round_started: datetime) -> ConnectorReport:
        cc = self.connectors[name][0]
        report = ConnectorReport(name, error=f"poll timed out after {cc.settings.timeout_seconds:g}s")
        try:
            record_failure(self.db, cc, report.error or "", started=round_started)
        except (SQLAlchemyError, DatabaseFull) as exc:  # the database is away too; the health file still shows it
            log.warning("could not record the timeout of %s: %s", name, _database_error(exc))
        return report

    def close(self) -> None:
        for _, connector in self.connectors.values():
            connector.close()


def poll_once(db: Database, config: Config, only: list[str] | None = None,
              exclusive: bool = False) -> list[ConnectorReport]:
    """Poll every enabled connector once, concurrently; error back-off is ignored, rate limits are not."""
    poller = Poller(db, config, only, exclusive=exclusive)
    try:
        threads = {name: poller.start(name, one_off=True) for name in poller.connectors}
        reports = []
        for name, thread in threads.items():
            cc = poller.connectors[name][0]
            thread.join(max(0.0, cc.settings.timeout_seconds - (time.monotonic() - thread.started_at)))
            reports.append(thread.report if thread.report is not None else poller.timed_out(name, thread.round_started))
        return reports
    finally:
        poller.close()


class PollScheduler:
    """``mentiondesk run``: each connector on its own interval, until SIGINT/SIGTERM."""

    def __init__(self, db: Database, config: Config, only: list[str] | None = None,
                 pipeline: Pipeline | None = None, health_file: Path | None = None, exclusive: bool = False) -> None:
        self.db = db
        self.poller = Poller(db, config, only, exclusive=exclusive)
        self.worker = PipelineWorker(pipeline) if pipeline is not None else None
        self.health_file = health_file
        self.stop_event = threading.Event()
        if pipeline is not None and pipeline.classifier is not None:
            pipeline.classifier.stop_requested = self.stop_event.is_set  # a backlog stops between reads too
        self.scheduler = schedule.Scheduler()
        self.running: dict[str, _PollThread] = {}
        self.reported_timeout: set[str] = set()
        # Recent reports only: a worker runs for months and must not grow.
        self.reports: deque[ConnectorReport] = deque(maxlen=REPORT_HISTORY)
        self.last_report: dict[str, ConnectorReport] = {}
        self.last_poll_at: dict[str, datetime] = {}  # when each connector's last round ended
        self.last_success_at: dict[str, datetime] = {}
        for name, (cc, _) in self.poller.connectors.items():
            self.scheduler.every(cc.settings.poll_interval_seconds).seconds.do(self._start, name)
        if self.worker is not None:
            self.scheduler.every(ALERT_TICK_SECONDS).seconds.do(self.worker.wake, tick=True)
        self.scheduler.every(HEARTBEAT_SECONDS).seconds.do(self._heartbeat)
        self.retention: threading.Thread | None = None
        if config.retention.raw_payload_days is not None:
            self.scheduler.every().day.do(self._start_retention, timedelta(days=config.retention.raw_payload_days))

    def _start_retention(self, keep: timedelta) -> None:
        """Prune off the scheduling thread: a first run on a big database may take a while."""
        if self.retention is not None and self.retention.is_alive():
            return  # still pruning, or waiting to try again
        self.retention = threading.Thread(target=self._prune_until_done, args=(keep,), daemon=True, name="retention")
        self.retention.start()

    def _prune_until_done(self, keep: timedelta) -> None:
        """Prune raw payloads older than ``keep``; one that fails is logged and tried again (RETENTION_RETRY_SECONDS),
        until it is done or the worker stops. Its error went to stderr as a bare traceback (SQLAlchemy's quoting the
        statement's parameters, raw payloads), and the next try was a day later."""
        failures = 0
        while not self.stop_event.is_set():
            wait = doubled(RETENTION_RETRY_SECONDS, failures, RETENTION_MAX_RETRY_SECONDS)
            try:
                prune_raw_payloads(self.db, keep)
                return
            except (SQLAlchemyError, DatabaseFull) as exc:  # the driver's line: the parameters hold payloads
                log.warning("could not prune old raw payloads (%s); trying again in %.0f s", _database_error(exc), wait)
            except Exception:
                log.exception("could not prune old raw payloads; trying again in %.0f s", wait)
            failures += 1
            self.stop_event.wait(wait)

    def _start(self, name: str) -> None:
        if name in self.running:
            return  # still busy (or hung) from the last round: skip rather than pile up
        self.running[name] = self.poller.start(name, stop=self.stop_event)

    def _run_due_jobs(self) -> None:
        """Run the jobs that came due. ``schedule`` times them by the naive local wall clock, so when that
        clock steps back (the autumn DST change, an NTP correction) every job (polls, heartbeat, tick)
        would wait out the step, an hour without polling; no job is left due later than its interval."""
        now = datetime.now()
        for job in self.scheduler.jobs:
            latest = now + timedelta(**{job.unit: job.interval})
            if job.next_run is not None and job.next_run > latest:
                job.next_run = latest
        self.scheduler.run_pending()

    def _reap(self) -> None:
        for name, thread in list(self.running.items()):
            cc = self.poller.connectors[name][0]
            if not thread.is_alive():
                del self.running[name]
                self.reported_timeout.discard(name)
                if thread.report is not None:
                    self.reports.append(thread.report)
                    self._record(name, thread.report)
                    if thread.report.new_ids and self.worker is not None:
                        self.worker.wake(thread.report.new_ids)
            elif time.monotonic() - thread.started_at > cc.settings.timeout_seconds and name not in self.reported_timeout:
                self.reported_timeout.add(name)
                self.reports.append(report := self.poller.timed_out(name, thread.round_started))
                self._record(name, report)

    def _record(self, name: str, report: ConnectorReport) -> None:
        if report.skipped is not None and not report.pages and report.ok:
            return  # backing off or capped before any page: no round ran
        self.last_report[name] = report
        self.last_poll_at[name] = utcnow()
        if report.ok:
            self.last_success_at[name] = self.last_poll_at[name]

    def _heartbeat(self, stopped: bool = False) -> None:
        """Tell `mentiondesk status` (and a supervisor, through the health file) that we are alive; and
        set the classifier to a backlog that other workers stored (their polls wake only their own)."""
        try:
            heartbeat(self.db, self.poller.worker_id, stopped=stopped)
        except Exception:  # the database being away is exactly what the health file should show
            log.exception("could not record the worker heartbeat")
        try:
            pending = self.worker.pending_count() if self.worker is not None else None
        except Exception:  # shown as unknown (null): the database is away, which the file should say
            pending = None
        if pending and not stopped and self.worker is not None:
            self.worker.wake()
        if self.health_file is not None:
            now = utcnow()
            write_health_file(self.health_file, {
                "worker": self.poller.worker_id,
                "state": "stopped" if stopped else "running",
                "updated_at": now.isoformat(),
                "pending_classification": pending,
                "connectors": {name: self._connector_health(name, now) for name in self.poller.connectors},
            })

    def _connector_health(self, name: str, now: datetime) -> dict[str, object]:
        """What a supervisor needs per connector: busy now, the last round's outcome, and the lag
        (seconds since the last successful round; None before the first)."""
        health: dict[str, object] = {"polling": name in self.running}
        if (report := self.last_report.get(name)) is not None:
            health.update(last_ok=report.ok, last_error=report.error, last_new=report.stored,
                          last_poll_at=self.last_poll_at[name].isoformat())
        success = self.last_success_at.get(name)
        health["last_success_at"] = success.isoformat() if success else None
        health["lag_seconds"] = round((now - success).total_seconds(), 1) if success else None
        return health

    def install_signal_handlers(self) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: self.stop_event.set())

    def run(self, max_seconds: float | None = None) -> None:
        deadline = None if max_seconds is None else time.monotonic() + max_seconds
        if self.worker is not None:
            self.worker.pipeline.start()
            self.worker.start()
        # Every job once now, then on its interval: each connector's first round, the alert tick (for
        # mentions stored but not classified before a restart), the heartbeat, and retention, which
        # a worker restarted more often than daily would otherwise never run.
        self.scheduler.run_all()
        try:
            while not self.stop_event.is_set() and (deadline is None or time.monotonic() < deadline):
                self._reap()  # first: a round that just ended must not make its next start skip
                self._run_due_jobs()
                idle = self.scheduler.idle_seconds
                self.stop_event.wait(0.2 if idle is None else min(max(idle, 0.05), 0.5))
            self.stop_event.set()  # past max_seconds too, polls and classification stop as on a signal
            # Graceful stop: no new polls; let running ones finish their current pages.
            for name, thread in list(self.running.items()):
                cc = self.poller.connectors[name][0]
                thread.join(max(0.0, cc.settings.timeout_seconds - (time.monotonic() - thread.started_at)))
            self._reap()
        finally:
            if self.worker is not None:
                self.worker.stop()
                self.worker.join(60)
                self.worker.pipeline.close()
            self.poller.close()
            self._heartbeat(stopped=True)
