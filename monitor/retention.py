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
import os
import stat
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import IO, Any

from sqlalchemy import or_, select, update

from connectors import registry
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


def _cut_torn_last_line(archive: IO[str]) -> None:
    """A run killed part-way through writing a batch leaves the archive's last line cut off. That batch
    was never cleared (rows are cleared only once their lines are on disk), so this run archives it
    again: cut the torn line off, or the next line would be glued to it. A last line that is whole but
    lacks its newline (not one prune wrote) is kept, and gets one."""
    descriptor = archive.fileno()
    size = os.fstat(descriptor).st_size
    if not size or os.pread(descriptor, 1, size - 1) == b"\n":
        return
    start = size - 1
    while start:  # back to the last newline, a chunk at a time: a line holds a whole payload
        chunk_start = max(0, start - 65536)
        found = os.pread(descriptor, start - chunk_start, chunk_start).rfind(b"\n")
        start = chunk_start if found < 0 else chunk_start + found + 1
        if found >= 0:
            break
    try:
        json.loads(os.pread(descriptor, size - start, start))
    except ValueError:
        log.warning("%s: cut off its last line (%d bytes), left incomplete by an interrupted prune; "
                    "its mentions are archived again", archive.name, size - start)
        os.ftruncate(descriptor, start)
    else:
        os.write(descriptor, b"\n")


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


def _archived_then(archive: IO[str] | None, payloads: list[tuple[Any, Any, Any]], clear: Callable[[], object]) -> None:
    """Write each (platform, external id, raw payload) to ``archive`` as a JSONL line, on disk, then ``clear``
    them; a ``clear`` that fails takes the lines back off the archive."""
    start = None
    if archive is not None:
        start = _append(archive, "".join(
            json.dumps({"platform": platform, "external_id": external_id, "raw": raw}, ensure_ascii=False) + "\n"
            for platform, external_id, raw in payloads))
    try:
        clear()
    except BaseException:
        if archive is not None:
            _cut_back(archive, start)
        raise


def _cut_back(archive: IO[str], start: int | None) -> None:
    if start is not None:
        os.ftruncate(archive.fileno(), start)
        os.lseek(archive.fileno(), start, os.SEEK_SET)


def prune_raw_payloads(db: Database, older_than: timedelta, archive: IO[str] | None = None,
                       batch_size: int = 1000) -> int:
    """Clear ``raw`` (all but the keys replies need) on mentions fetched before ``now - older_than``;
    returns how many were pruned, the mentions ingest set aside in the audit log included.

    With ``archive`` (a file open for appending; `mentiondesk prune` opens it for reading too, so a line
    an interrupted run left incomplete is cut off), each whole payload is first written there as a JSONL
    line (``{"platform", "external_id", "raw"}``), batch by batch, on disk before the batch's rows are
    cleared. A batch that fails (disk full, a database error) is cut back off the archive. One whose
    rows' commit fails, or a crash between the two, stays archived with its rows uncleared: the next
    run archives it again, so a mention can be archived twice, never lost.
    """
    cutoff = utcnow() - older_than
    due = (Mention.fetched_at < cutoff, Mention.raw_pruned_at.is_(None))
    with db.read() as session:
        keys, unknown = _reply_raw_keys(list(session.scalars(select(Mention.platform).where(*due).distinct())))
    prunable = or_(Mention.platform.in_(list(keys)), Mention.platform.in_(unknown) & Mention.query_id.is_(None))
    if archive is not None and archive.readable() and stat.S_ISREG(os.fstat(archive.fileno()).st_mode):
        archive.flush()
        _cut_torn_last_line(archive)
    pruned = 0
    while True:
        with db.write() as session:
            rows = session.execute(
                select(Mention.id, Mention.platform, Mention.external_id, Mention.raw)
                .where(*due, prunable)
                .order_by(Mention.id).limit(batch_size)
            ).all()
            if not rows:
                break
            now = utcnow()
            _archived_then(archive, [(row.platform, row.external_id, row.raw) for row in rows], lambda: session.execute(
                update(Mention),
                [{"id": row.id, "raw": _kept(row.raw or {}, keys.get(row.platform, ())), "raw_pruned_at": now}
                 for row in rows]))
            pruned += len(rows)
    return pruned + _prune_set_aside(db, cutoff, archive, batch_size)


def _prune_set_aside(db: Database, cutoff: datetime, archive: IO[str] | None, batch_size: int) -> int:
    """Clear the raw payloads of mentions set aside before ``cutoff`` (audit entries ``ingest.set_aside``),
    archiving them first as `prune_raw_payloads` does; returns how many. Set-aside mentions cannot be
    answered, so none of their raw is kept. Each entry records when it was pruned, so it is pruned once."""
    pruned, after = 0, 0
    while True:
        with db.write() as session:
            entries = list(session.scalars(
                select(AuditEntry).where(AuditEntry.action == SET_ASIDE, AuditEntry.at < cutoff, AuditEntry.id > after)
                .order_by(AuditEntry.id).limit(batch_size)))
            if not entries:
                return pruned
            after = entries[-1].id
            due = [e for e in entries
                   if isinstance(e.details.get("mention"), dict) and "raw_pruned_at" not in e.details]
            if not due:
                continue
            now = utcnow().isoformat()

            def clear() -> None:
                for entry in due:  # a new dict: JSON columns do not notice changes made in place
                    entry.details = {**entry.details, "mention": {**entry.details["mention"], "raw": {}},
                                     "raw_pruned_at": now}
                session.flush()

            mentions = [entry.details["mention"] for entry in due]
            _archived_then(archive, [(m.get("platform"), m.get("external_id"), m.get("raw")) for m in mentions], clear)
            pruned += len(due)
