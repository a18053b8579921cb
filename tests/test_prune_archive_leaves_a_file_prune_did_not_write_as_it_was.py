"""`prune --archive FILE`: a file prune did not write (a CSV, a JSON document, other JSONL) is refused, named,
before anything is pruned, and left byte for byte as it was: its last line, not JSON and without a newline, was
cut off as though a killed prune had torn it, even by a run that pruned nothing. A torn line is cut off only
from an archive, and only by a run that has something to write after it."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select

from monitor.cli import cli
from monitor.models import Mention
from monitor.storage import Database
from tests.test_prune_archive_failures import config_with_old_mentions

RECORD = '{"platform": "x", "external_id": "earlier", "raw": {}}\n'
TORN = '{"platform": "x", "external_id": "old-0", "raw": {"blob": "xx'


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """A SQLite database of 3 mentions fetched 100 days ago."""
    return config_with_old_mentions(tmp_path, 3, 20)


def _prune(config: Path, archive: Path, days: int) -> Result:
    return CliRunner().invoke(cli, ["--config", str(config), "prune", "--raw-older-than", str(days),
                                    "--archive", str(archive)])


def _pruned(config: Path) -> int:
    db = Database.open(f"sqlite:///{config.parent / 'm.db'}")
    try:
        with db.read() as session:
            return len(session.scalars(select(Mention.id).where(Mention.raw_pruned_at.is_not(None))).all())
    finally:
        db.dispose()


@pytest.mark.parametrize("name, content", [
    ("notes.csv", "id,note\n1,customer called back\n2,refund approved - keep this line"),
    ("payloads.json", '{\n  "archived": [1, 2, 3]\n}'),
    ("notes.txt", "first\nsecond\n"),
    ("other.jsonl", '{"id": 1, "text": "not a payload"}\n{"id": 2, "text": "nor this'),
    ("tail.jsonl", RECORD + "a note added by hand"),  # an archive someone wrote into
], ids=["csv", "pretty-json", "text", "other-jsonl", "archive-with-a-note"])
@pytest.mark.parametrize("days", [36_500, 90], ids=["nothing-to-prune", "something-to-prune"])
def test_a_file_prune_did_not_write_is_refused_and_left_as_it_was(
        config: Path, tmp_path: Path, name: str, content: str, days: int) -> None:
    archive = tmp_path / name
    archive.write_bytes(content.encode())
    result = _prune(config, archive, days)
    assert result.exit_code == 2, result.output
    assert f"Invalid value for '--archive': {archive} is not a prune archive" in result.output
    assert archive.read_bytes() == content.encode()
    assert _pruned(config) == 0


def test_a_torn_archive_is_left_as_it_was_by_a_prune_with_nothing_to_prune(
        config: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    archive = tmp_path / "raw.jsonl"
    archive.write_text(RECORD + TORN, encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="monitor.retention"):
        result = _prune(config, archive, 36_500)
    assert result.exit_code == 0, result.output
    assert archive.read_text(encoding="utf-8") == RECORD + TORN
    assert "cut off" not in caplog.text


@pytest.mark.parametrize("earlier", ["", RECORD, RECORD * 3], ids=["only-a-torn-line", "one-line", "three-lines"])
def test_a_torn_archive_line_is_cut_off_before_the_next_batch(config: Path, tmp_path: Path, earlier: str) -> None:
    archive = tmp_path / "raw.jsonl"
    archive.write_text(earlier + TORN, encoding="utf-8")
    assert _prune(config, archive, 90).exit_code == 0
    lines = [json.loads(line)["external_id"] for line in archive.read_text(encoding="utf-8").splitlines()]
    assert lines == ["earlier"] * earlier.count("\n") + ["old-0", "old-1", "old-2"]
    assert _pruned(config) == 3


def test_an_empty_file_is_an_archive(config: Path, tmp_path: Path) -> None:
    archive = tmp_path / "empty.jsonl"
    archive.write_text("")
    assert _prune(config, archive, 90).exit_code == 0
    assert len(archive.read_text(encoding="utf-8").splitlines()) == 3
