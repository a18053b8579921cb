"""`import` of a CSV row with more cells than its header names (a comma in a cell left unquoted): the row is a bad
line, not stored. Until 2026-12-07 the cells past the header's were dropped without a word, so
`hello, world` in the last column was stored as `hello`. Empty cells past the header's (a spreadsheet's
trailing commas) hold nothing and are no error."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import select

from monitor.cli import cli
from monitor.models import Mention
from monitor.storage import Database


def test_a_row_with_cells_the_header_does_not_name_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "mentiondesk.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "m.db"}"\n[[brands]]\nname = "Acme"\n'
                      'keywords = ["acme"]\n[sentiment]\nbackend = "none"\n[connectors.sample]\n')
    source = tmp_path / "in.csv"
    source.write_text("platform,external_id,created_at,text\n"
                      "sample,1,2026-11-01T10:00:00Z,hello acme\n"
                      "sample,2,2026-11-01T10:00:00Z,hello, world, acme\n"
                      "sample,3,2026-11-01T10:00:00Z,trailing commas,,\n")
    result = CliRunner().invoke(cli, ["--config", str(config), "import", str(source)])
    assert result.exit_code == 1, result.output
    assert "line 3: 6 cells where the header names 4 columns" in result.output
    assert "imported 2 new, 0 already stored, 1 bad line(s)" in result.output
    db = Database.open(f"sqlite:///{tmp_path / 'm.db'}")
    try:
        with db.read() as session:
            assert dict(session.execute(select(Mention.external_id, Mention.text)).all()) == {
                "1": "hello acme", "3": "trailing commas"}
    finally:
        db.dispose()
