"""Retention: drop raw platform payloads after a while (optionally archiving them first).

The mention itself (text, author, labels, triage) stays queryable; only the bulky ``raw`` JSON
is cleared and the time it was cleared recorded, so each row is pruned once. The few raw keys a
platform's replies read (its connector's ``reply_raw_keys``: a Mastodon post's visibility, a Bluesky
post's full URI) stay, so an old mention is still answered as it was posted: a reply to a Mastodon
direct message went out public once its payload was cleared. Mentions ingest set aside (kept whole in the
audit log because they could not be stored) have their raw payloads cleared there the same way.
"""

from __future__ import annotations

import json
import logging
import math
import os
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import IO, Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from connectors import registry
from monitor.errors import MentiondeskError
from monitor.ingest import SET_ASIDE
from monitor.models import AuditEntry, Mention, utcnow
from monitor.storage import Database

log = logging.getLogger(__name__)


def _reply_raw_keys(platforms: list[str]) -> tuple[dict[str, tuple[str, ...]], list[str]]:
    """Each loadable platform's ``reply_raw_keys``, and the platforms no connector here knows.

    What the replies of a connector that exists but cannot load (a missing client library) need is
    unknown, so its mentions are left unpruned until a run where it loads; so are the mentions an
    unknown platform's queries fetched (a plugin package not installed now). Its imported mentions
    (no query: from another tool) cannot be answered here, and keep nothing."""
    keys, unknown = {}, []
    for platform in platforms:
        try:
            keys[platform] = registry.get(platform).reply_raw_keys
        except registry.UnknownConnector:
            unknown.append(platform)
        except registry.ConnectorUnavailable as exc:
            log.warning("raw payloads of %s mentions are kept for now: %s", platform, exc)
    return keys, unknown


def _kept(raw: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    return {k: raw[k] for k in keys if k in raw}


class NotAnArchive(MentiondeskError):
    """The archive named is a file prune did not write (a CSV, a JSON document): it is left as it was."""


# How each line prune writes starts (json.dumps of {"platform", "external_id", "raw"}, in that order).
RECORD_START = b'{"platform": '
_RECORD_KEYS = ["platform", "external_id", "raw"]


def _is_record(line: bytes) -> bool:
    try:
        record = json.loads(line)
    except ValueError:
        return False
    return isinstance(record, dict) and list(record) == _RECORD_KEYS


def _line_start(descriptor: int, end: int) -> int:
    """Where the line ending at ``end`` starts: just past the newline before it, found a chunk at a time going back
    (a line holds a whole payload), or 0."""
    start = end
    while start:
        chunk_start = max(0, start - 65536)
        found = os.pread(descriptor, start - chunk_start, chunk_start).rfind(b"\n")
        if found >= 0:
            return chunk_start + found + 1
        start = chunk_start
    return 0


def _line_end(descriptor: int, limit: int) -> int:
    """Where the file's first line ends (at its newline), found a chunk at a time; ``limit`` if none is before it."""
    start = 0
    while start < limit:
        found = os.pread(descriptor, min(65536, limit - start), start).find(b"\n")
        if found >= 0:
            return start + found
        start += 65536
    return limit


@dataclass(frozen=True)
class _Unended:
    """The archive's last line, which lacks its newline: from ``start``; ``whole`` if it is a whole record."""
    start: int
    whole: bool


def _check_archive(archive: IO[str]) -> _Unended | None:
    """Refuse (NotAnArchive) a file prune did not write, reading only its ends; returns its last line where that
    lacks its newline. An archive's whole lines are records prune wrote (its first and last whole ones are read:
    reading them all would read every payload ever archived); its last may be one that a killed run left torn,
    which starts as a record does. A CSV, a JSON document or a text file is none: cutting its last line off, as
    though torn, lost a line of the user's (`prune --archive notes.csv`, even with nothing to prune)."""
    descriptor = archive.fileno()
    size = os.fstat(descriptor).st_size
    last_start = _line_start(descriptor, size)
    if last_start:
        last_whole_start = _line_start(descriptor, last_start - 1)
        for which, start, end in (("first line", 0, _line_end(descriptor, last_start)),
                                  ("last whole line", last_whole_start, last_start - 1)):
            if not _is_record(os.pread(descriptor, end - start, start)):
                raise _not_an_archive(archive, which)
    if last_start == size:
        return None
    last = os.pread(descriptor, size - last_start, last_start)
    if _is_record(last):
        return _Unended(last_start, whole=True)
    if last.startswith(RECORD_START) or RECORD_START.startswith(last):
        return _Unended(last_start, whole=False)
    raise _not_an_archive(archive, "last line")


def _not_an_archive(archive: IO[str], which: str) -> NotAnArchive:
    return NotAnArchive(f"{archive.name} is not a prune archive (its {which} is not a payload prune wrote); it was "
                        "left as it was: name a new file or an earlier archive")


def _end_last_line(archive: IO[str], last: _Unended) -> None:
    """A run killed part-way through writing a batch leaves the archive's last line cut off. That batch
    was never cleared (rows are cleared only once their lines are on disk), so this run archives it
    again: cut the torn line off, or the next line would be glued to it. A whole last line that
    lacks its newline is kept, and gets one."""
    descriptor = archive.fileno()
    if last.whole:
        os.write(descriptor, b"\n")
        return
    log.warning("%s: cut off its last line (%d bytes), left incomplete by an interrupted prune; "
                "its mentions are archived again", archive.name, os.fstat(descriptor).st_size - last.start)
    os.ftruncate(descriptor, last.start)


class _Archive:
    """The file a prune appends to. Checked when the prune starts, so that a file prune did not write is refused
    before anything is pruned; its last line, where that lacks its newline, is mended only before the first batch
    is written, so a prune with nothing to archive leaves the file as it was."""

    def __init__(self, out: IO[str]) -> None:
        self.out = out
        self._unended: _Unended | None = None
        if out.readable() and stat.S_ISREG(os.fstat(out.fileno()).st_mode):  # a pipe is only written
            out.flush()  # what was written through the file object, on the file before it is read
            self._unended = _check_archive(out)

    def append(self, text: str) -> int | None:
        if self._unended is not None:
            _end_last_line(self.out, self._unended)
            self._unended = None
        return _append(self.out, text)


def _append(archive: IO[str], text: str) -> int | None:
    """Write ``text`` at the archive's end and on to the disk; returns where it started, for `_cut_back`
    (None where the archive cannot be cut back: a pipe). A write that fails part-way (disk full) is cut
    back off at once: the torn line it left was glued to the next run's first line."""
    archive.flush()  # anything written through the file object goes first
    descriptor = archive.fileno()
    start = os.lseek(descriptor, 0, os.SEEK_END) if stat.S_ISREG(os.fstat(descriptor).st_mode) else None
    data = memoryview(text.encode("utf-8"))
    try:
        while data:
            data = data[os.write(descriptor, data):]
        if start is not None:
            os.fsync(descriptor)  # on disk before the rows are cleared, or a power cut could lose both
    except BaseException as exc:
        _cut_back(archive, start)
        if isinstance(exc, OSError):  # "No space left on device" alone does not say where
            raise OSError(exc.errno, exc.strerror, archive.name) from None
        raise
    return start


def archive_lines(payloads: list[tuple[Any, Any, Any]]) -> str:
    """Each (platform, external id, raw payload) as the archive's JSONL line."""
    return "".join(json.dumps({"platform": platform, "external_id": external_id, "raw": raw}, ensure_ascii=False) + "\n"
                   for platform, external_id, raw in payloads)


class _Batches:
    """Clears a prune's batches, each in a write transaction of its own that only clears: the batch is read, and its
    payloads archived, before it, outside SQLite's write lock. Held through that (a read of every due row, the
    archive's fsync), a big prune kept every other write, a worker's pages included, waiting for seconds, past the
    busy timeout ("database is locked") on a big database. On SQLite the lock is then left free for as long as the
    batch held it: a writer waiting for it tries again after sleeps that grow to 100 ms, and where the next batch
    began at once it could miss every gap between two."""

    def __init__(self, db: Database, archive: _Archive | None) -> None:
        self.db, self.archive = db, archive
        self._free_until = -math.inf

    def archive_then_clear(self, payloads: list[tuple[Any, Any, Any]], clear: Callable[[Session], int]) -> int:
        """Write each (platform, external id, raw payload) to the archive as a JSONL line, on disk, then run
        ``clear`` in a write transaction; returns what it returns, how many it cleared. It clears only what no other
        prune has cleared since the batch was read; their lines stay archived, as a payload may be archived twice.
        A ``clear`` that fails (the lock not had within the busy timeout, a database error) takes the lines back off
        the archive; a commit that fails leaves them, as its rows may have been cleared."""
        if self.db.is_sqlite:
            time.sleep(max(0.0, self._free_until - time.monotonic()))
        start = None
        if self.archive is not None:
            start = self.archive.append(archive_lines(payloads))
        began = time.monotonic()
        with self.db.write() as session:
            try:
                cleared = clear(session)
                session.flush()
            except BaseException:
                if self.archive is not None:
                    _cut_back(self.archive.out, start)
                raise
        committed = time.monotonic()
        self._free_until = 2 * committed - began  # left free as long as it was held
        return cleared


def _cut_back(archive: IO[str], start: int | None) -> None:
    if start is not None:
        os.ftruncate(archive.fileno(), start)
        os.lseek(archive.fileno(), start, os.SEEK_SET)


def prune_raw_payloads(db: Database, older_than: timedelta, archive: IO[str] | None = None,
                       batch_size: int = 1000) -> int:
    """Clear ``raw`` (all but the keys replies need) on mentions fetched before ``now - older_than``;
    returns how many were pruned, the mentions ingest set aside in the audit log included.

    With ``archive`` (a file open for appending; `mentiondesk prune` opens it for reading too, so that a file
    prune did not write is refused, NotAnArchive, and a line an interrupted run left incomplete is cut off), each
    whole payload is first written there as a JSONL line (``{"platform", "external_id", "raw"}``), batch by
    batch, on disk before the batch's rows are cleared. A batch that fails (disk full, a database error) is cut
    back off the archive. One whose rows' commit fails, or a crash between the two, stays archived with its rows
    uncleared: the next run archives it again, so a mention can be archived twice, never lost.
    """
    archive_file = _Archive(archive) if archive is not None else None
    cutoff = utcnow() - older_than
    due = (Mention.fetched_at < cutoff, Mention.raw_pruned_at.is_(None))
    with db.read() as session:
        keys, unknown = _reply_raw_keys(list(session.scalars(select(Mention.platform).where(*due).distinct())))
    batches = _Batches(db, archive_file)
    pruned, after = 0, 0
    while True:
        # Paged by id, and the platforms picked here: with them in the query SQLite read (through the platform
        # index) and sorted every due row of those platforms for each batch; this way it reads each row once.
        with db.read() as session:
            rows = session.execute(
                select(Mention.id, Mention.platform, Mention.query_id, Mention.external_id, Mention.raw)
                .where(*due, Mention.id > after).order_by(Mention.id).limit(batch_size)
            ).all()
        if not rows:
            break
        after = rows[-1].id
        prunable = [row for row in rows if row.platform in keys or (row.platform in unknown and row.query_id is None)]
        if not prunable:
            continue

        def clear(session: Session) -> int:
            still_due = set(session.scalars(
                select(Mention.id).where(Mention.id.in_([row.id for row in prunable]), Mention.raw_pruned_at.is_(None))
                .order_by(Mention.id).with_for_update()))
            now = utcnow()
            cleared = [{"id": row.id, "raw": _kept(row.raw or {}, keys.get(row.platform, ())), "raw_pruned_at": now}
                       for row in prunable if row.id in still_due]
            if cleared:
                session.execute(update(Mention), cleared)
            return len(cleared)

        pruned += batches.archive_then_clear([(row.platform, row.external_id, row.raw) for row in prunable], clear)
    return pruned + _prune_set_aside(db, cutoff, batches, batch_size)


def _unpruned_set_aside(entry: AuditEntry) -> bool:
    return isinstance(entry.details.get("mention"), dict) and "raw_pruned_at" not in entry.details


def _prune_set_aside(db: Database, cutoff: datetime, batches: _Batches, batch_size: int) -> int:
    """Clear the raw payloads of mentions set aside before ``cutoff`` (audit entries ``ingest.set_aside``),
    archiving them first as `prune_raw_payloads` does; returns how many. Set-aside mentions cannot be
    answered, so none of their raw is kept. Each entry records when it was pruned, so it is pruned once."""
    pruned, after = 0, 0
    while True:
        with db.read() as session:
            entries = list(session.scalars(
                select(AuditEntry).where(AuditEntry.action == SET_ASIDE, AuditEntry.at < cutoff, AuditEntry.id > after)
                .order_by(AuditEntry.id).limit(batch_size)))
        if not entries:
            return pruned
        after = entries[-1].id
        due = [entry for entry in entries if _unpruned_set_aside(entry)]
        if not due:
            continue

        def clear(session: Session) -> int:
            still_due = [entry for entry in session.scalars(
                select(AuditEntry).where(AuditEntry.id.in_([entry.id for entry in due]))
                .order_by(AuditEntry.id).with_for_update()) if _unpruned_set_aside(entry)]
            now = utcnow().isoformat()
            for entry in still_due:  # a new dict: JSON columns do not notice changes made in place
                entry.details = {**entry.details, "mention": {**entry.details["mention"], "raw": {}},
                                 "raw_pruned_at": now}
            return len(still_due)

        mentions = [entry.details["mention"] for entry in due]
        pruned += batches.archive_then_clear(
            [(m.get("platform"), m.get("external_id"), m.get("raw")) for m in mentions], clear)
