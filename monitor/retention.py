"""Retention: drop raw platform payloads after a while (optionally archiving them first).

The mention itself (text, author, labels, triage) stays queryable; only the bulky ``raw`` JSON
is cleared and the time it was cleared recorded, so each row is pruned once.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import IO

from sqlalchemy import select, update

from monitor.models import Mention, utcnow
from monitor.storage import Database


def prune_raw_payloads(db: Database, older_than: timedelta, archive: IO[str] | None = None,
                       batch_size: int = 1000) -> int:
    """Clear ``raw`` on mentions fetched before ``now - older_than``; returns how many were pruned.

    With ``archive``, each payload is first written there as a JSONL line
    (``{"platform", "external_id", "raw"}``), batch by batch before its rows are cleared.
    """
    cutoff = utcnow() - older_than
    pruned = 0
    while True:
        with db.write() as session:
            rows = session.execute(
                select(Mention.id, Mention.platform, Mention.external_id, Mention.raw)
                .where(Mention.fetched_at < cutoff, Mention.raw_pruned_at.is_(None))
                .order_by(Mention.id).limit(batch_size)
            ).all()
            if not rows:
                return pruned
            if archive is not None:
                for row in rows:
                    archive.write(json.dumps({"platform": row.platform, "external_id": row.external_id,
                                              "raw": row.raw}, ensure_ascii=False) + "\n")
                archive.flush()
            session.execute(update(Mention).where(Mention.id.in_([r.id for r in rows]))
                            .values(raw={}, raw_pruned_at=utcnow()))
            pruned += len(rows)
