"""What ingest cannot store even cleaned is set aside in the audit log, whole, and the rest of its page stored."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from connectors.base import FetchResult
from monitor.config import Config
from monitor.ingest import SET_ASIDE, ingest_page, read_cursor, sync_brands
from monitor.models import AuditEntry
from monitor.storage import Database
from tests.connector_doubles import mention

CONFIG = Config.from_dict({"brands": [{"name": "Acme", "keywords": ["acme"]}], "connectors": {"sample": {}}}, env={})


@pytest.fixture
def query_id(db: Database) -> int:
    return sync_brands(db, CONFIG.brands, {"sample": CONFIG.queries_for("sample")})[("sample", "acme")]


def test_a_mention_no_json_can_hold_is_set_aside_with_a_note_in_its_place(db: Database, query_id: int) -> None:
    page = [mention("sample", 1, raw={"score": 9 ** 5000}), mention("sample", 2, text=5), mention("sample", 3)]
    result = ingest_page(db, connector="sample", query_id=query_id, result=FetchResult(page, next_cursor="4"))
    assert (result.received, result.stored, result.set_aside) == (3, 1, 2)
    with db.read() as session:
        assert read_cursor(session, query_id) == "4"
        entries = {e.details["mention"]["external_id"]: e for e in
                   session.scalars(select(AuditEntry).where(AuditEntry.action == SET_ASIDE))}
    assert entries.keys() == {"1", "2"} and {e.actor for e in entries.values()} == {"system"}
    assert "raw payload is not JSON-serialisable" in entries["1"].details["reason"]
    assert entries["1"].details["mention"]["raw"] == "<a dict that cannot be written as JSON>"
    assert entries["1"].details["mention"]["text"] == "post 1 about acme"
    assert entries["2"].details["mention"]["text"] == 5 and entries["2"].details["query_id"] == query_id


def test_poll_says_how_many_were_set_aside_and_where(capsys: pytest.CaptureFixture[str]) -> None:
    from monitor.cli import _print_reports
    from monitor.poller import ConnectorReport

    _print_reports([ConnectorReport("x", pages=1, received=3, new_ids=[7], set_aside=2),
                    ConnectorReport("reddit", pages=1, received=1, new_ids=[8])])
    assert capsys.readouterr().out.splitlines() == [
        "x: ok, 1 new of 3 fetched in 1 page(s), 2 set aside (see the audit log)",
        "reddit: ok, 1 new of 1 fetched in 1 page(s)"]
