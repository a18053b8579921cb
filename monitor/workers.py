"""Many workers, one database: poll leases, worker heartbeats, and the one-worker rule on SQLite.

Each (connector, query) poll is claimed with a lease row: one conditional UPDATE decides who polls,
so no poll runs twice at once, and a dead worker's lease simply expires and is taken over. The
lease also remembers when the query was last polled, so adding workers spreads the work instead
of multiplying the platform calls.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import socket
import stat
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from monitor.errors import ConfigError, MentiondeskError
from monitor.ingest import upsert
from monitor.models import PollLease, WorkerRecord, utcnow
from monitor.storage import WORKER_LOCK_SUFFIX, Database, sqlite_file
from monitor.transfer import inherited_descriptor, write_file_atomically

log = logging.getLogger(__name__)

# A worker that has not written a heartbeat for this long is shown as gone.
WORKER_STALE_SECONDS = 120.0
HEARTBEAT_SECONDS = 10.0


class WorkerConflict(MentiondeskError):
    """Another worker already uses this SQLite database."""


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def worker_has_exited(worker_id: str) -> bool:
    """Whether `worker_id` (from :func:`new_worker_id`) names a process on this host that has ended.

    A worker on another host, or whose pid now runs something else, counts as running: what it holds
    then waits until it runs out. Two hosts with one hostname could take each other's for gone, which
    costs repeated work only where the holder guards its writes (as classify claims do).
    """
    host, _, rest = worker_id.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # runs, as another user
        pass
    return False


def claim_poll(db: Database, query_id: int, owner: str, lease_seconds: float, min_interval_seconds: float,
               exclusive: bool = False, round_started: datetime | None = None) -> bool:
    """Take the lease on a query's poll if nobody holds it and it is due; True if we may poll.

    Due-ness is judged, and the poll recorded, as of ``round_started`` (when this worker's round
    began; default now), as the schedule counts its interval from the start of a round: measured
    from the end of the last poll, a round longer than a fifth of the interval left the next one
    "not due", and the query was polled every other interval. Recorded polls stay at least
    ``min_interval_seconds`` apart however many workers share the query.

    ``exclusive``: this process is known to be the only worker (it holds the SQLite worker lock),
    so any other lease was left by a dead process and is taken over at once.
    """
    now = utcnow()
    polled_at = round_started or now
    free = [PollLease.owner.is_(None), PollLease.expires_at < now, PollLease.owner == owner]
    if exclusive:
        free = [PollLease.query_id == query_id]
    with db.write() as session:
        upsert(session, PollLease.__table__, {"query_id": query_id, "owner": None}, ["query_id"], {"query_id": query_id})
        claimed = session.execute(
            update(PollLease)
            .where(PollLease.query_id == query_id,
                   or_(*free),
                   or_(PollLease.last_polled_at.is_(None),
                       PollLease.last_polled_at <= polled_at - timedelta(seconds=min_interval_seconds)))
            .values(owner=owner, expires_at=now + timedelta(seconds=lease_seconds), last_polled_at=polled_at)
        ).rowcount
    return bool(claimed)


def renew_poll(db: Database, query_id: int, owner: str, lease_seconds: float) -> bool:
    """Extend our lease between pages; False if it expired and someone else took it."""
    with db.write() as session:
        return holds_poll(session, query_id=query_id, owner=owner, lease_seconds=lease_seconds)


def holds_poll(session: Session, *, query_id: int, owner: str, lease_seconds: float) -> bool:
    """:func:`renew_poll` in the caller's transaction, which then keeps the lease row locked: a page's
    cursor is stored only while its fetcher still holds the query, and no other worker claims it meanwhile."""
    return bool(session.execute(
        update(PollLease).where(PollLease.query_id == query_id, PollLease.owner == owner)
        .values(expires_at=utcnow() + timedelta(seconds=lease_seconds))
    ).rowcount)


def release_poll(db: Database, query_id: int, owner: str) -> None:
    with db.write() as session:
        session.execute(
            update(PollLease).where(PollLease.query_id == query_id, PollLease.owner == owner)
            .values(owner=None, expires_at=None)
        )


def heartbeat(db: Database, worker_id: str, stopped: bool = False) -> None:
    now = utcnow()
    host, pid = socket.gethostname(), os.getpid()
    with db.write() as session:
        upsert(session, WorkerRecord.__table__,
               {"id": worker_id, "host": host, "pid": pid, "started_at": now, "heartbeat_at": now,
                "stopped_at": now if stopped else None},
               ["id"], {"heartbeat_at": now, "stopped_at": now if stopped else None})


@contextmanager
def heartbeats(db: Database, worker_id: str) -> Iterator[None]:
    """Keep ``worker_id`` listed as running in `mentiondesk status` while the block runs, from a thread (a block
    classifying a long backlog writes nothing else for minutes), and as stopped after it."""
    done = threading.Event()

    def beat(stopped: bool = False) -> None:
        try:
            heartbeat(db, worker_id, stopped=stopped)
        except Exception:  # the database being away must not stop the work; status then shows the worker gone
            log.exception("could not record the worker heartbeat")

    def keep_beating() -> None:
        while not done.wait(HEARTBEAT_SECONDS):
            beat()

    beat()
    beating = threading.Thread(target=keep_beating, name=f"heartbeat {worker_id}", daemon=True)
    beating.start()
    try:
        yield
    finally:
        done.set()
        beating.join()
        beat(stopped=True)


@dataclass(frozen=True)
class WorkerView:
    id: str
    host: str
    pid: int
    started_at: datetime
    heartbeat_at: datetime
    stopped_at: datetime | None

    def state(self, now: datetime) -> str:
        if self.stopped_at is not None:
            return "stopped"
        return "gone" if (now - self.heartbeat_at).total_seconds() > WORKER_STALE_SECONDS else "running"


def recent_workers(db: Database, limit: int = 20) -> list[WorkerView]:
    with db.read() as session:
        rows = session.scalars(select(WorkerRecord).order_by(WorkerRecord.heartbeat_at.desc()).limit(limit))
        return [WorkerView(r.id, r.host, r.pid, r.started_at, r.heartbeat_at, r.stopped_at) for r in rows]


def sqlite_worker_lock(db: Database) -> IO[str] | None:
    """On SQLite, hold an exclusive lock beside the database file for this process's lifetime.

    SQLite serialises writers on one host; a second poller would only contend. The OS drops the
    lock when the process dies, so a crashed worker never blocks the next one.
    """
    if not db.is_sqlite or (database := sqlite_file(db.engine.url)) is None:
        return None
    # Its real path: two workers started in different folders, or through different links, share one lock.
    path = database.resolve()
    lock_path = path.with_name(path.name + WORKER_LOCK_SUFFIX)
    handle = lock_path.open("a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "another process"
        handle.close()
        raise WorkerConflict(
            f"another mentiondesk worker ({holder}) is already polling the SQLite database {path}; "
            "SQLite supports one worker: stop it first, or use PostgreSQL to run several"
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"pid {os.getpid()} on {socket.gethostname()}")
    handle.flush()
    return handle


def check_health_file(path: Path) -> None:
    """Make sure ``path`` can be the health file, making its folder if missing (as /run/mentiondesk may be).

    Called at start-up, so a bad path stops the worker before it polls, not at its first heartbeat,
    and before each write: the file is replaced every time, so anything but a regular file (a device,
    /dev/stdout, a pipe) is refused rather than replaced (as root, /dev/full became a file).
    """
    if inherited_descriptor(path) is not None:  # /dev/stdout: redirected to a file, that file would be replaced
        raise ConfigError(f"--health-file {path}: a stream of this process (standard output, a shell redirection), "
                          "which the health file would replace; give the path of a file")
    try:  # follows links, as the write does: a link to a regular file is written through
        mode: int | None = os.stat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):
        mode = None
    if mode is not None and not stat.S_ISREG(mode):
        raise ConfigError(f"--health-file {path}: not a regular file (a device, a pipe or a socket), "
                          "which the health file would replace; give the path of a file")
    if blocking := next((p for p in path.parents if p.exists() and not p.is_dir()), None):
        raise ConfigError(f"--health-file {path}: {blocking} is a file, not a folder")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"--health-file {path}: cannot make its folder: {exc.strerror or exc}") from None
    if not os.access(path.parent, os.W_OK | os.X_OK):
        raise ConfigError(f"--health-file {path}: cannot write in {path.parent}")


def write_health_file(path: Path, state: dict[str, Any]) -> None:
    """Replace the file atomically, so a reader never sees half a JSON document."""
    check_health_file(path)
    write_file_atomically(path, lambda out: out.write(json.dumps(state, indent=2, default=str)))
