"""A JSONL line whose object names a field twice ({"text": "I love it", "text": "refund me"}) is reported with its
line number and skipped, by `classify`, `evaluate`, `import` and the training data reader alike. Until 2026-12-07
json's last-one-wins rule read the line by its last field alone: classify dropped the first silently and labelled
the second, import stored only one text, and evaluate scored whichever label came last."""
from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import sentiment.api
from monitor.access import local_operator
from monitor.cli import cli
from monitor.config import Config
from monitor.ingest import sync_brands
from monitor.storage import Database
from monitor.transfer import import_mentions
from sentiment.data import DataFileError, read_set
from tests.classify_worker import SlowModel

REPEATED = '{"id": 1, "text": "I love this app", "text": "worst app ever, refund me"}\n'
FINE = '{"id": 2, "text": "fine"}\n'
WHY = 'a JSON object names "text" more than once'


@pytest.fixture
def stand_in_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sentiment.api, "load_classifier", lambda *args: SlowModel(0))


def test_classify_reports_the_line_and_writes_the_others(stand_in_model: Any, tmp_path: Path) -> None:
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    src.write_text(REPEATED + FINE)
    result = CliRunner().invoke(cli, ["classify", "--input", str(src), "--output", str(out)])
    assert result.exit_code == 0, result.output
    assert f"{src}:1: skipped: {WHY}" in result.output
    assert [json.loads(line)["id"] for line in out.read_text().splitlines()] == [2]


def test_evaluate_does_not_score_a_line_whose_label_comes_twice(stand_in_model: Any, tmp_path: Path) -> None:
    src = tmp_path / "gold.jsonl"
    src.write_text('{"text": "a", "label": "positive", "label": "negative"}\n{"text": "b", "label": "negative"}\n')
    result = CliRunner().invoke(cli, ["evaluate", "--input", str(src)])
    assert f'{src}:1: skipped: a JSON object names "label" more than once' in result.output, result.output


def test_import_reports_the_line_and_stores_the_others(db: Database) -> None:
    config = Config.from_dict({"brands": [{"name": "Acme", "keywords": ["acme"]}], "connectors": {"sample": {}}},
                              env={})
    sync_brands(db, config.brands, {})
    common = '"platform": "sample", "created_at": "2026-11-01T09:00:00Z"'
    lines = (f'{{{common}, "external_id": "1", "text": "I love acme", "text": "acme, refund me"}}\n'
             f'{{{common}, "external_id": "2", "text": "acme is fine"}}\n')
    result = import_mentions(db, io.StringIO(lines), "jsonl", local_operator())
    assert result.stored == 1 and result.errors == [f"line 1: {WHY}"]


def test_training_data_names_the_file_and_line(tmp_path: Path) -> None:
    data = tmp_path / "train.jsonl"
    data.write_text('{"text": "ok", "label": "neutral"}\n{"text": "a", "label": "positive", "label": "negative"}\n')
    with pytest.raises(DataFileError, match=f'^{data}:2: a JSON object names "label" more than once$'):
        read_set(data)


def test_import_reports_a_csv_json_cell_naming_a_key_twice(db: Database) -> None:
    config = Config.from_dict({"brands": [{"name": "Acme", "keywords": ["acme"]}], "connectors": {"sample": {}}},
                              env={})
    sync_brands(db, config.brands, {})
    rows = ('platform,external_id,created_at,text,raw\n'
            'sample,1,2026-11-01T09:00:00Z,acme late,"{""order"": ""A1"", ""order"": ""B2""}"\n'
            'sample,2,2026-11-01T09:00:00Z,acme fine,"{""order"": ""C3""}"\n')
    result = import_mentions(db, io.StringIO(rows), "csv", local_operator())
    assert result.stored == 1 and result.errors == ['line 2: column \'raw\': a JSON object names "order" more than once']
