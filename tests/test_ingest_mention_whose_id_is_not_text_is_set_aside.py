"""A fetched mention whose platform id holds a NUL or an unpaired surrogate (what a JSON "\\u0000" or "\\udc80" in
an id decodes to) is set aside in the audit log and the rest of its page stored, the cursor moved on. Until
2026-12-07 the whole page failed to store on every poll (PostgreSQL refuses NUL; no database can encode a lone
surrogate), so nothing newer from that source was ever read."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from connectors.base import FetchResult
from monitor.config import Config
from monitor.ingest import SET_ASIDE, ingest_page, read_cursor, sync_brands
from monitor.models import AuditEntry, Mention
from monitor.storage import Database
from tests.connector_doubles import mention

CONFIG = Config.from_dict({"brands": [{"name": "Acme", "keywords": ["acme"]}], "connectors": {"sample": {}}}, env={})


@pytest.mark.parametrize("bad_id", ["2\x00", "2\udc80"])
def test_the_rest_of_the_page_is_stored_and_the_bad_one_kept_aside(db: Database, bad_id: str) -> None:
    query_id = sync_brands(db, CONFIG.brands, {"sample": CONFIG.queries_for("sample")})[("sample", "acme")]
    page = [mention("sample", 1), mention("sample", 2, external_id=bad_id), mention("sample", 3)]
    result = ingest_page(db, connector="sample", query_id=query_id, result=FetchResult(page, next_cursor="4"))
    assert (result.stored, result.set_aside) == (2, 1)
    with db.read() as session:
        assert read_cursor(session, query_id) == "4"
        assert sorted(session.scalars(select(Mention.external_id))) == ["1", "3"]
        kept = session.scalars(select(AuditEntry).where(AuditEntry.action == SET_ASIDE)).one()
    assert "external id holds a NUL or an unpaired surrogate" in kept.details["reason"]
    assert kept.details["mention"]["text"] == "post 2 about acme"
