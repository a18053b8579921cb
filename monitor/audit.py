"""The audit log: who did what, when. Every triage and reply action writes one entry."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.models import AuditEntry

SYSTEM_ACTOR = "system"


def record(session: Session, actor: str, action: str, mention_id: int | None = None, **details: Any) -> None:
    """Add an entry in the caller's transaction, so the log and the change commit together."""
    session.add(AuditEntry(actor=actor, action=action, mention_id=mention_id, details=details))


def entries(session: Session, mention_id: int | None = None, limit: int = 100) -> list[AuditEntry]:
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if mention_id is not None:
        query = query.where(AuditEntry.mention_id == mention_id)
    return list(session.scalars(query))
