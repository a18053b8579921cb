"""`import` of JSONL files saved with a byte-order mark, joined with `cat`, one of them empty: the line after the
empty one starts with two marks. Any number of them may start a line, as for `classify`; until 2026-12-07 only
one was taken off and such a line was reported as not valid JSON and lost."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import select

from monitor.cli import cli
from monitor.models import Mention
from monitor.storage import Database

BOM = "\ufeff"


def _line(external_id: str) -> str:
    return json.dumps({"platform": "sample", "external_id": external_id, "text": "hello acme",
                       "created_at": "2026-11-01T09:00:00Z"}) + "\n"


def test_a_line_after_an_empty_file_saved_with_a_mark_is_imported(tmp_path: Path) -> None:
    config = tmp_path / "mentiondesk.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "m.db"}"\n[[brands]]\nname = "Acme"\n'
                      'keywords = ["acme"]\n[sentiment]\nbackend = "none"\n[connectors.sample]\n')
    source = tmp_path / "joined.jsonl"
    # a.jsonl, an empty file, b.jsonl and another empty one, each saved with a mark
    source.write_text(BOM + _line("a1") + _line("a2") + BOM + BOM + _line("b1") + _line("b2") + BOM + BOM + "\n",
                      encoding="utf-8")
    result = CliRunner().invoke(cli, ["--config", str(config), "import", str(source)])
    assert result.exit_code == 0, result.output
    assert "imported 4 new, 0 already stored, 0 bad line(s)" in result.output
    db = Database.open(f"sqlite:///{tmp_path / 'm.db'}")
    try:
        with db.read() as session:
            assert sorted(session.scalars(select(Mention.external_id))) == ["a1", "a2", "b1", "b2"]
    finally:
        db.dispose()
