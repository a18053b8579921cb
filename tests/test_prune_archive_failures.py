"""`prune --archive`: a run that fails part-way (the disk fills mid-write, the database refuses the
update) leaves the archive as it was, so the rerun writes each payload once and no line is torn; a
torn last line left by a run that was killed is cut off; the error names the archive."""

from __future__ import annotations

import json
import logging
import signal
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select, text
from sqlalchemy.exc import SQLAlchemyError

from monitor.cli import cli
from monitor.models import Mention, utcnow
from monitor.retention import prune_raw_payloads
from monitor.storage import Database
from tests.connector_doubles import T0

MENTIONS = 50


def config_with_old_mentions(folder: Path, count: int, blob: int, name: str = "mentiondesk.toml",
                             database: str = "m.db") -> Path:
    """A config in ``folder`` and its SQLite database of ``count`` mentions fetched 100 days ago, each with a raw
    payload of ``blob`` characters."""
    path = folder / name
    path.write_text(f'[database]\nurl = "sqlite:///{folder / database}"\n[[brands]]\nname = "Acme"\n'
                    'keywords = ["acme"]\n[sentiment]\nbackend = "none"\n[connectors.sample]\n')
    db = Database.open(f"sqlite:///{folder / database}")
    db.upgrade()
    with db.write() as session:
        session.add_all(Mention(platform="x", external_id=f"old-{n}", text="acme", created_at=T0,
                                fetched_at=utcnow() - timedelta(days=100), raw={"blob": "x" * blob})
                        for n in range(count))
    db.dispose()
    return path


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """A SQLite database of 50 mentions fetched 100 days ago, each with a 2 KB raw payload."""
    return config_with_old_mentions(tmp_path, MENTIONS, 2000)


def _prune(config: Path, archive: Path) -> Result:
    return CliRunner().invoke(cli, ["--config", str(config), "prune", "--raw-older-than", "90",
                                    "--archive", str(archive)])


def _archived_ids(archive: Path) -> list[str]:
    return [json.loads(line)["external_id"] for line in archive.read_text(encoding="utf-8").splitlines()]


def _unpruned(config: Path) -> int:
    db = Database.open(f"sqlite:///{config.parent / 'm.db'}")
    try:
        with db.read() as session:
            return len(session.scalars(select(Mention.id).where(Mention.raw_pruned_at.is_(None))).all())
    finally:
        db.dispose()


def test_a_disk_that_fills_mid_write_leaves_the_archive_as_it_was(config: Path, tmp_path: Path) -> None:
    resource = pytest.importorskip("resource")  # POSIX file size limits: a real write that fails part-way
    archive = tmp_path / "raw.jsonl"
    earlier = [f"earlier-{n}" for n in range(20_000)]  # makes the archive far bigger than the database
    archive.write_text("".join(json.dumps({"platform": "x", "external_id": e, "raw": {}}) + "\n" for e in earlier),
                       encoding="utf-8")
    before = archive.read_bytes()
    limits = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous_handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
    resource.setrlimit(resource.RLIMIT_FSIZE, (len(before) + 30_000, limits[1]))  # room for 15 of the 50
    try:
        failed = _prune(config, archive)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, limits)
        signal.signal(signal.SIGXFSZ, previous_handler)
    assert failed.exit_code == 1 and failed.output == f"Error: {archive}: File too large\n", failed.output
    assert archive.read_bytes() == before
    assert _unpruned(config) == MENTIONS

    assert _prune(config, archive).exit_code == 0  # the operator makes room and runs it again
    assert _archived_ids(archive) == [*earlier, *(f"old-{n}" for n in range(MENTIONS))]
    assert _unpruned(config) == 0


def test_a_batch_the_database_refuses_is_taken_back_off_the_archive(config: Path, tmp_path: Path) -> None:
    db = Database.open(f"sqlite:///{tmp_path / 'm.db'}")
    with db.write() as session:  # a real database error, after the batch is archived and before the commit
        session.execute(text("CREATE TRIGGER refuse BEFORE UPDATE ON mentions "
                             "BEGIN SELECT RAISE(ABORT, 'refused'); END"))
    archive = tmp_path / "raw.jsonl"
    with archive.open("a+", encoding="utf-8") as out, pytest.raises(SQLAlchemyError, match="refused"):
        prune_raw_payloads(db, timedelta(days=90), out)
    assert archive.read_bytes() == b""
    with db.write() as session:
        session.execute(text("DROP TRIGGER refuse"))
    db.dispose()
    assert _prune(config, archive).exit_code == 0
    assert _archived_ids(archive) == [f"old-{n}" for n in range(MENTIONS)]


def test_a_torn_last_line_from_a_killed_run_is_cut_off(
        config: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    archive = tmp_path / "raw.jsonl"
    whole = '{"platform": "x", "external_id": "earlier", "raw": {}}\n'
    archive.write_text(whole + '{"platform": "x", "external_id": "old-0", "raw": {"blob": "xxx', encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="monitor.retention"):
        assert _prune(config, archive).exit_code == 0
    assert _archived_ids(archive) == ["earlier", *(f"old-{n}" for n in range(MENTIONS))]
    assert "cut off its last line" in caplog.text


def test_a_whole_last_line_without_its_newline_is_kept(config: Path, tmp_path: Path) -> None:
    archive = tmp_path / "raw.jsonl"
    archive.write_text('{"platform": "x", "external_id": "earlier", "raw": {}}', encoding="utf-8")
    assert _prune(config, archive).exit_code == 0
    assert _archived_ids(archive) == ["earlier", *(f"old-{n}" for n in range(MENTIONS))]
