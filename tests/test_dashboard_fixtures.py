"""Helpers shared by the queue, triage, dashboard and browser tests (this module holds no tests)."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone
from typing import Any

from monitor.models import Brand, Mention
from monitor.storage import Database

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)
_ids = itertools.count(1)


def add_mention(db: Database, **fields: Any) -> int:
    """Store one mention with sensible defaults; returns its id."""
    n = next(_ids)
    values: dict[str, Any] = {
        "platform": "sample", "external_id": f"m{n}", "text": f"mention number {n}",
        "created_at": NOW - timedelta(minutes=n), "author_handle": f"user{n}", "author_name": f"User {n}",
        "author_followers": 100, "lang": "en", "url": f"https://example.com/post/{n}", "status": "new",
    }
    values.update(fields)
    with db.write() as session:
        mention = Mention(**values)
        session.add(mention)
        session.flush()
        return mention.id


def add_brand(db: Database, name: str) -> int:
    with db.write() as session:
        brand = Brand(key=name.lower(), name=name)
        session.add(brand)
        session.flush()
        return brand.id
