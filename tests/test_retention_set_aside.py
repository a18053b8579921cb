"""Retention clears the raw payloads of mentions ingest set aside in the audit log, as it does for stored ones."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select, update

from connectors.base import FetchResult
from monitor.config import Config
from monitor.ingest import SET_ASIDE, ingest_page, sync_brands
from monitor.models import AuditEntry, utcnow
from monitor.retention import prune_raw_payloads
from monitor.storage import Database
from tests.connector_doubles import mention

CONFIG = Config.from_dict({"brands": [{"name": "Acme", "keywords": ["acme"]}], "connectors": {"sample": {}}}, env={})


def set_aside(db: Database) -> dict[str, dict]:
    with db.read() as session:
        return {e.details["mention"]["external_id"]: e.details
                for e in session.scalars(select(AuditEntry).where(AuditEntry.action == SET_ASIDE))}


def test_old_set_aside_payloads_are_archived_then_cleared_once(db: Database, tmp_path: Path) -> None:
    query_id = sync_brands(db, CONFIG.brands, {"sample": CONFIG.queries_for("sample")})[("sample", "acme")]
    for n in (1, 2):  # a text that is not text cannot be stored: each is set aside
        page = [mention("sample", n, text=n, raw={"author_email": f"user{n}@example.com"})]
        ingest_page(db, connector="sample", query_id=query_id, result=FetchResult(page, next_cursor=str(n)))
    with db.write() as session:
        session.execute(update(AuditEntry).where(AuditEntry.action == SET_ASIDE,
                                                 AuditEntry.details["mention"]["external_id"].as_string() == "1")
                        .values(at=utcnow() - timedelta(days=100)))
    archive = tmp_path / "raw.jsonl"
    with archive.open("a+") as out:
        assert prune_raw_payloads(db, timedelta(days=90), out) == 1
    assert [json.loads(line) for line in archive.read_text().splitlines()] == [
        {"platform": "sample", "external_id": "1", "raw": {"author_email": "user1@example.com"}}]
    entries = set_aside(db)
    assert entries["1"]["mention"]["raw"] == {} and entries["1"]["raw_pruned_at"]
    assert entries["1"]["mention"]["text"] == 1 and entries["1"]["reason"]  # the rest of the entry stays
    assert entries["2"]["mention"]["raw"] == {"author_email": "user2@example.com"}
    assert "raw_pruned_at" not in entries["2"]
    assert prune_raw_payloads(db, timedelta(days=90)) == 0
