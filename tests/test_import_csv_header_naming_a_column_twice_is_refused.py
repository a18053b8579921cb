"""A CSV whose header names a column twice (a second "text" column pasted in a spreadsheet) is refused whole, with
nothing imported. Until 2026-12-07 the import kept the last cell of each name and said it went well: every complaint
came in empty, or under the platform of the second column."""
from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from monitor.access import local_operator
from monitor.config import Config
from monitor.errors import IngestError
from monitor.ingest import sync_brands
from monitor.models import Mention
from monitor.storage import Database
from monitor.transfer import import_mentions

CONFIG = Config.from_dict({"brands": [{"name": "Acme", "keywords": ["acme"]}], "connectors": {"sample": {}}}, env={})


@pytest.mark.parametrize(("header", "row", "named"), [
    ("platform,external_id,text,created_at,text", "sample,1,my order never arrived,2026-11-01T09:00:00Z,", "'text'"),
    ("platform,external_id,platform,created_at,text,external_id", "sample,1,mastodon,2026-11-01T09:00:00Z,late,2",
     "'external_id', 'platform'"),
])
def test_nothing_is_imported_and_the_repeated_names_are_given(db: Database, header: str, row: str, named: str) -> None:
    sync_brands(db, CONFIG.brands, {})
    with pytest.raises(IngestError, match=f"^line 1: the CSV header names {named} more than once; nothing was imported$"):
        import_mentions(db, io.StringIO(f"{header}\n{row}\n"), "csv", local_operator())
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(Mention)) == 0


def test_a_header_naming_each_column_once_still_imports(db: Database) -> None:
    sync_brands(db, CONFIG.brands, {})
    result = import_mentions(db, io.StringIO("platform,external_id,created_at,text\n"
                                             "sample,1,2026-11-01T09:00:00Z,my order never arrived\n"),
                             "csv", local_operator())
    assert result.stored == 1
    with db.read() as session:
        assert session.scalars(select(Mention.text)).all() == ["my order never arrived"]
