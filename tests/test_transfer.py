import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from connectors.base import FetchResult
from monitor.access import local_operator
from monitor.cli import cli
from monitor.config import Config
from monitor.ingest import ingest_page, sync_brands
from monitor.models import Mention, MentionTag
from monitor.storage import Database
from monitor.transfer import import_mentions, iter_export, write_export
from tests.connector_doubles import mention

CONFIG = Config.from_dict({"brands": [{"name": "Acme", "keywords": ["acme"]}], "connectors": {"sample": {}}}, env={})
OPERATOR = local_operator()


def seed(db: Database) -> None:
    query_id = sync_brands(db, CONFIG.brands, {"sample": CONFIG.queries_for("sample")})[("sample", "acme")]
    page = [mention("sample", 1, text='=HYPERLINK("http://evil")', lang="en", author_followers=10),
            mention("sample", 2, text="¿Dónde está mi pedido? 😡\nline two", raw={"k": [1, 2]}, replyable=False)]
    ingest_page(db, connector="sample", query_id=query_id, result=FetchResult(page, next_cursor="2"))
    with db.write() as session:
        first = session.scalars(select(Mention).where(Mention.external_id == "1")).one()
        first.sentiment_label, first.sentiment_score, first.intent, first.status = "negative", 0.9, "complaint", "open"
        first.sentiment_scores = {"negative": 0.9, "neutral": 0.07, "positive": 0.03}
        session.add(MentionTag(mention_id=first.id, tag="billing"))


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_export_then_import_round_trips(db: Database, tmp_path: Path, fmt: str) -> None:
    seed(db)
    buffer = io.StringIO()
    assert write_export(iter_export(db), buffer, fmt) == 2
    if fmt == "csv":
        assert "'=HYPERLINK" in buffer.getvalue()  # a spreadsheet must not run mention text as a formula
    target = Database.open(f"sqlite:///{tmp_path / 'copy.db'}")
    target.upgrade()
    sync_brands(target, CONFIG.brands, {})
    result = import_mentions(target, io.StringIO(buffer.getvalue()), fmt, OPERATOR)
    assert (result.stored, result.duplicates, result.errors) == (2, 0, [])
    assert list(iter_export(target)) == list(iter_export(db))
    again = import_mentions(target, io.StringIO(buffer.getvalue()), fmt, OPERATOR)
    assert (again.stored, again.duplicates) == (0, 2)


def test_bad_lines_are_reported_with_their_number_and_skipped(sqlite_db: Database) -> None:
    good = {"platform": "x", "external_id": 17, "text": "hi @acme", "created_at": "2026-11-01T10:00:00Z", "mood": "meh"}
    lines = [
        json.dumps(good),
        "{not json",
        json.dumps({**good, "external_id": "18", "created_at": "2026-11-01T10:00:00"}),
        json.dumps({**good, "external_id": "19", "sentiment_label": "angry"}),
        json.dumps({**good, "external_id": "20", "brand": "unknown"}),
        "[1, 2]",
        json.dumps({**good, "external_id": "21", "sentiment_scores": {"negative": 1.5}}),
    ]
    result = import_mentions(sqlite_db, io.StringIO("\n".join(lines) + "\n"), "jsonl", OPERATOR)
    assert result.stored == 1
    assert [e.split(":")[0] for e in result.errors] == ["line 2", "line 3", "line 4", "line 5", "line 6", "line 7"]
    assert "created_at" in result.errors[1] and "sentiment_label" in result.errors[2]
    assert "sentiment_scores.negative" in result.errors[5]
    with sqlite_db.read() as session:
        kept = session.scalars(select(Mention)).one()
    assert kept.external_id == "17" and kept.raw == {"imported_fields": {"mood": "meh"}}


def test_cli_export_and_import(tmp_path: Path) -> None:
    config = tmp_path / "mentiondesk.toml"
    runner = CliRunner()
    runner.invoke(cli, ["--config", str(config), "init"])
    assert runner.invoke(cli, ["--config", str(config), "poll", "--once"]).exit_code == 0
    out = tmp_path / "all.csv"
    exported = runner.invoke(cli, ["--config", str(config), "export", "-o", str(out), "--brand", "acme"])
    assert exported.exit_code == 0 and "exported 60 mention(s)" in exported.output
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"platform": "x"}\n')
    result = runner.invoke(cli, ["--config", str(config), "import", str(bad)])
    assert result.exit_code == 1 and "line 1: external_id: Field required" in result.output
    back = runner.invoke(cli, ["--config", str(config), "import", str(out)])
    assert back.exit_code == 0 and "imported 0 new, 60 already stored, 0 bad line(s)" in back.output
    db = Database.open(f"sqlite:///{tmp_path / 'home' / 'mentiondesk.db'}")
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(Mention)) == 60
