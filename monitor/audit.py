"""The audit log: who did what, when. Every sign-in, triage, reply and user change writes one entry; so does a
refused sign-in, except that the attempts one lock-out refuses write one between them (monitor.users), so a
flood of them cannot fill the log.

It is append-only through the services: :func:`record` adds in the caller's transaction, and no
service updates or deletes an entry. Reading and exporting it are for admins.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import datetime
from typing import IO, Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.access import Principal, Role, require
from monitor.models import AuditEntry
from monitor.storage import Database
from monitor.text import csv_safe

SYSTEM_ACTOR = "system"
EXPORT_FIELDS = ("id", "at", "actor", "action", "mention_id", "details")


def record(session: Session, actor: str, action: str, mention_id: int | None = None, **details: Any) -> None:
    """Add an entry in the caller's transaction, so the log and the change commit together."""
    session.add(AuditEntry(actor=actor, action=action, mention_id=mention_id, details=details))


def entries(session: Session, actor: Principal, mention_id: int | None = None, limit: int = 100) -> list[AuditEntry]:
    """The newest entries (for one mention, or all); admins only."""
    require(actor, Role.ADMIN, "reading the audit log")
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if mention_id is not None:
        query = query.where(AuditEntry.mention_id == mention_id)
    return list(session.scalars(query))


def _rows(db: Database, since: datetime | None) -> Iterator[dict[str, Any]]:
    with db.read() as session:
        query = select(AuditEntry).order_by(AuditEntry.id)
        if since is not None:
            query = query.where(AuditEntry.at >= since)
        for e in session.scalars(query.execution_options(yield_per=1000)):
            yield {"id": e.id, "at": e.at.isoformat(), "actor": e.actor, "action": e.action,
                   "mention_id": e.mention_id, "details": e.details}


def export(db: Database, actor: Principal, out: IO[str], fmt: Literal["jsonl", "csv"],
           since: datetime | None = None) -> int:
    """Write the log, oldest first, as JSONL or CSV (formula-safe cells); admins only. The export is logged."""
    require(actor, Role.ADMIN, "exporting the audit log")
    with db.write() as session:
        record(session, actor.name, "audit.export", format=fmt, since=since.isoformat() if since else None)
    count = 0
    writer = csv.DictWriter(out, fieldnames=EXPORT_FIELDS) if fmt == "csv" else None
    if writer is not None:
        writer.writeheader()
    for row in _rows(db, since):
        if writer is None:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
        else:
            row["details"] = json.dumps(row["details"], ensure_ascii=False)
            writer.writerow({k: csv_safe(v) if isinstance(v, str) else v for k, v in row.items()})
        count += 1
    return count
