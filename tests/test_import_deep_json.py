"""`import`: a line holding JSON that Python will not read (an integer of more than 4,300 digits, nesting
too deep) is one bad line, reported and skipped like the others; the good lines around it are stored."""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import select

from monitor.cli import cli
from monitor.models import Mention
from monitor.storage import Database

BASE = {"platform": "mastodon", "text": "hi @acme", "created_at": "2026-11-01T10:00:00Z", "brand": "acme"}
BIG_INT = "9" * (sys.get_int_max_str_digits() + 700)


def _config(tmp_path: Path) -> list[str]:
    config = tmp_path / "mentiondesk.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "m.db"}"\n[[brands]]\nname = "Acme"\n'
                      'keywords = ["acme"]\n[sentiment]\nbackend = "none"\n[connectors.sample]\n')
    return ["--config", str(config)]


def _line(external_id: str, **raw_json: str) -> str:
    """A JSONL record whose fields in ``raw_json`` are spliced in as written (JSON json.dumps cannot make)."""
    text = json.dumps({**BASE, "external_id": external_id})[:-1]
    return text + "".join(f', "{name}": {value}' for name, value in raw_json.items()) + "}\n"


def _stored(tmp_path: Path) -> list[str]:
    db = Database.open(f"sqlite:///{tmp_path / 'm.db'}")
    try:
        with db.read() as session:
            return sorted(session.scalars(select(Mention.external_id)))
    finally:
        db.dispose()


def test_unreadable_json_lines_are_skipped_and_the_rest_stored(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text(
        _line("good-1")
        + _line("big", author_followers=BIG_INT)
        + _line("deep", raw="[" * 100_000 + "]" * 100_000)
        # Read by json.loads, but too deep for the cleaning every record gets before it is stored.
        + _line("nearly-too-deep", raw='{"a": ' + "[" * 900 + "]" * 900 + "}")
        + _line("good-2", raw='{"a": ' + "[" * 50 + "]" * 50 + "}"))
    result = CliRunner().invoke(cli, [*_config(tmp_path), "import", str(source)])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.exception  # no traceback
    assert f"line 2: a JSON integer of more than {sys.get_int_max_str_digits()} digits" in result.output
    assert "line 3: JSON nested too deeply to read" in result.output
    assert "line 4: JSON nested too deeply to read" in result.output
    assert "imported 2 new, 0 already stored, 3 bad line(s)" in result.output
    assert _stored(tmp_path) == ["good-1", "good-2"]


def test_unreadable_json_in_a_csv_cell_costs_only_its_row(tmp_path: Path) -> None:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=["platform", "external_id", "text", "created_at", "brand", "raw", "tags",
                                             "sentiment_scores"])
    writer.writeheader()
    row = dict(BASE)
    writer.writerow({**row, "external_id": "good-1", "raw": "{}"})
    writer.writerow({**row, "external_id": "big", "raw": '{"a": ' + BIG_INT + "}"})
    writer.writerow({**row, "external_id": "deep", "tags": "[" * 100_000 + "]" * 100_000})
    writer.writerow({**row, "external_id": "scores", "sentiment_scores": '{"negative": ' + BIG_INT + "}"})
    writer.writerow({**row, "external_id": "good-2", "tags": '["vip"]'})
    source = tmp_path / "in.csv"
    source.write_text(out.getvalue())
    result = CliRunner().invoke(cli, [*_config(tmp_path), "import", str(source)])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.exception
    assert f"line 3: column 'raw': a JSON integer of more than {sys.get_int_max_str_digits()} digits" in result.output
    assert "line 4: column 'tags': JSON nested too deeply to read" in result.output
    assert "line 5: column 'sentiment_scores': a JSON integer of more than" in result.output
    assert "imported 2 new, 0 already stored, 3 bad line(s)" in result.output
    assert _stored(tmp_path) == ["good-1", "good-2"]
