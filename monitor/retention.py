"""Retention: drop raw platform payloads after a while (optionally archiving them first).

The mention itself (text, author, labels, triage) stays queryable; only the bulky ``raw`` JSON
is cleared and the time it was cleared recorded, so each row is pruned once. The few raw keys a
platform's replies read (its connector's ``reply_raw_keys``: a Mastodon post's visibility, a Bluesky
post's full URI) stay, so an old mention is still answered as it was posted: a reply to a Mastodon
direct message went out public once its payload was cleared.
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import IO, Any

from sqlalchemy import or_, select, update

from connectors import registry
from monitor.models import Mention, utcnow
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


def prune_raw_payloads(db: Database, older_than: timedelta, archive: IO[str] | None = None,
                       batch_size: int = 1000) -> int:
    """Clear ``raw`` (all but the keys replies need) on mentions fetched before ``now - older_than``;
    returns how many were pruned.

    With ``archive``, each whole payload is first written there as a JSONL line
    (``{"platform", "external_id", "raw"}``), batch by batch before its rows are cleared.
    """
    cutoff = utcnow() - older_than
    due = (Mention.fetched_at < cutoff, Mention.raw_pruned_at.is_(None))
    with db.read() as session:
        keys, unknown = _reply_raw_keys(list(session.scalars(select(Mention.platform).where(*due).distinct())))
    prunable = or_(Mention.platform.in_(list(keys)), Mention.platform.in_(unknown) & Mention.query_id.is_(None))
    pruned = 0
    while True:
        with db.write() as session:
            rows = session.execute(
                select(Mention.id, Mention.platform, Mention.external_id, Mention.raw)
                .where(*due, prunable)
                .order_by(Mention.id).limit(batch_size)
            ).all()
            if not rows:
                return pruned
            if archive is not None:
                for row in rows:
                    archive.write(json.dumps({"platform": row.platform, "external_id": row.external_id,
                                              "raw": row.raw}, ensure_ascii=False) + "\n")
                archive.flush()
            now = utcnow()
            session.execute(update(Mention), [
                {"id": row.id, "raw": _kept(row.raw or {}, keys.get(row.platform, ())), "raw_pruned_at": now}
                for row in rows])
            pruned += len(rows)
