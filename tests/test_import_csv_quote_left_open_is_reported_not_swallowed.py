"""`import` of a CSV cell whose opening quote is never closed (a customer's `"acme broke my order`): the reader
takes every line after it as that cell's text. The record is reported as a bad one, by the lines it ran across,
and the import fails. Until 2026-12-07 the lines swallowed were stored as that mention's text, or with no later
quote reported as one bad line at the file's end, and the records in them were lost without a word."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import select

from monitor.cli import cli
from monitor.models import Mention
from monitor.storage import Database

HEADER = "platform,external_id,text,created_at"


def _row(external_id: str, text: str) -> str:
    return f"sample,{external_id},{text},2026-11-01T10:00:00Z"


def _import(tmp_path: Path, rows: list[str]) -> tuple[int, str, dict[str, str]]:
    """Exit code, output and the stored texts by external id of `mentiondesk import` of ``rows`` as a CSV file."""
    config = tmp_path / "mentiondesk.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "m.db"}"\n[[brands]]\nname = "Acme"\n'
                      'keywords = ["acme"]\n[sentiment]\nbackend = "none"\n[connectors.sample]\n')
    source = tmp_path / "in.csv"
    source.write_text("\r\n".join([HEADER, *rows]) + "\r\n")
    result = CliRunner().invoke(cli, ["--config", str(config), "import", str(source)])
    db = Database.open(f"sqlite:///{tmp_path / 'm.db'}")
    try:
        with db.read() as session:
            stored = dict(session.execute(select(Mention.external_id, Mention.text)).all())
        return result.exit_code, result.output, stored
    finally:
        db.dispose()


def test_a_quote_closed_lines_later_fails_the_import_naming_the_lines(tmp_path: Path) -> None:
    rows = [_row("c1", "hello acme"), _row("c2", '"acme broke my order'),
            *(_row(f"c{n}", f"post {n} about acme") for n in range(3, 8)),
            _row("c8", '"Love acme"'),  # its opening quote is read as the one that closes c2's text
            _row("c9", "after")]
    code, output, stored = _import(tmp_path, rows)
    assert code == 1, output
    assert """lines 3-9: not valid CSV (',' expected after '"')""" in output
    assert "imported 2 new, 0 already stored, 1 bad line(s)" in output
    assert stored == {"c1": "hello acme", "c9": "after"}


def test_a_quote_never_closed_is_reported_from_its_line_to_the_end(tmp_path: Path) -> None:
    rows = [_row("c1", "hello acme"), _row("c2", '"acme broke my order'), _row("c3", "fine"), _row("c4", "fine")]
    code, output, stored = _import(tmp_path, rows)
    assert code == 1, output
    assert "lines 3-5: not valid CSV (unexpected end of data)" in output
    assert "imported 1 new, 0 already stored, 1 bad line(s)" in output
    assert stored == {"c1": "hello acme"}


def test_a_quoted_text_of_several_lines_still_imports_and_is_reported_by_its_lines(tmp_path: Path) -> None:
    rows = [_row("c1", '"first line\nsecond line, with a comma"'), _row("c2", "fine"),
            'sample,c3,"two\nlines",yesterday']
    code, output, stored = _import(tmp_path, rows)
    assert code == 1, output
    assert "lines 5-6: created_at:" in output
    assert stored == {"c1": "first line\nsecond line, with a comma", "c2": "fine"}
