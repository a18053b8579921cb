"""`import` reads JSONL files that each began with a byte-order mark, concatenated (`cat a.jsonl b.jsonl`)."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select

from monitor.access import local_operator
from monitor.models import Mention
from monitor.storage import Database
from monitor.transfer import import_mentions, open_import

BOM = "\ufeff"


def _line(external_id: str) -> str:
    return json.dumps({"platform": "sample", "external_id": external_id, "text": "hello acme",
                       "created_at": "2026-11-01T09:00:00Z"}) + "\n"


def test_a_byte_order_mark_may_start_any_line(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "both.jsonl"
    # The second file starts with a BOM; the third holds nothing but one.
    path.write_text(BOM + _line("1") + BOM + _line("2") + _line("3") + BOM + "\n", encoding="utf-8")
    with open_import(path) as source:
        result = import_mentions(db, source, "jsonl", local_operator())
    assert (result.stored, result.errors) == (3, [])
    with db.read() as session:
        assert sorted(session.scalars(select(Mention.external_id))) == ["1", "2", "3"]
