"""Output piped into a reader that stops early (`mentiondesk export | head -1`) ends the command quietly, with the
status a shell reports for a writer SIGPIPE ended (141), as `seq 1e9 | head -1` does: it printed "Error: Broken pipe"
(or, for `classify`, called --output a bad value) and exited 1, or printed "Exception ignored … BrokenPipeError" at
exit. What could not be written is not lost: `prune` clears no payload it could not archive.

Each command runs in its own process, its standard output a real pipe whose reader has gone (as `head` has once it
has its line), or a real `head -1`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select

from monitor.models import Mention
from monitor.storage import Database

REPO = Path(__file__).resolve().parents[1]
LONG_AGO = datetime(2020, 1, 1, tzinfo=timezone.utc)
READER_GONE = 141
# `classify` with a stand-in model (every text negative), so no model loads.
CLASSIFY_WITH_A_STAND_IN = ("import sentiment.cli; from tests.classify_worker import SlowModel; "
                            "sentiment.cli._load = lambda settings, source: SlowModel(0); "
                            "from monitor.cli import main; main()")


@pytest.fixture
def config(tmp_path: Path) -> Path:
    url = f"sqlite:///{tmp_path / 'mentiondesk.db'}"
    db = Database.open(url)
    db.upgrade()
    with db.write() as session:  # fetched long ago: `prune --raw-older-than 1` takes every one
        session.add_all(Mention(platform="sample", external_id=str(n), text=f"acme mention {n} " + "x" * 200,
                                created_at=LONG_AGO, fetched_at=LONG_AGO, raw={"payload": "y" * 200})
                        for n in range(300))  # more than a pipe holds
    db.dispose()
    path = tmp_path / "mentiondesk.toml"
    path.write_text(f'[database]\nurl = "{url}"\n[sentiment]\nbackend = "none"\n'
                    '[[brands]]\nname = "Acme"\nkeywords = ["acme"]\n[connectors.sample]\n', encoding="utf-8")
    return path


def _into_a_reader_gone(*command: str) -> subprocess.CompletedProcess[str]:
    read_end, write_end = os.pipe()
    os.close(read_end)  # as `head` has, once it has what it wanted
    # Standard output buffered, as it is for users: written as it goes, it never broke at exit.
    env = {name: value for name, value in os.environ.items() if name != "PYTHONUNBUFFERED"}
    try:
        return subprocess.run(command, stdout=write_end, stderr=subprocess.PIPE, text=True, cwd=REPO, env=env,
                              timeout=120)
    finally:
        os.close(write_end)


def _mentiondesk(config: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "monitor", "--config", str(config), *args]


@pytest.mark.parametrize("args", [["export"], ["export", "-o", "/dev/stdout"], ["export", "--format", "csv"]])
def test_export_into_a_reader_gone_ends_quietly(config: Path, args: list[str]) -> None:
    result = _into_a_reader_gone(*_mentiondesk(config, *args))
    assert (result.returncode, result.stderr) == (READER_GONE, "")


def test_output_left_in_the_buffer_at_the_end_ends_quietly_too(config: Path) -> None:
    """`audit export` writes one entry (its own) through standard output's buffer, flushed only at exit: there the
    closed pipe printed "Exception ignored … BrokenPipeError", and the status was 120. Nor does it say it exported
    what never got out."""
    result = _into_a_reader_gone(*_mentiondesk(config, "audit", "export"))
    assert (result.returncode, result.stderr) == (READER_GONE, "")


def test_export_into_head_gives_head_its_line(config: Path) -> None:
    export = subprocess.Popen(_mentiondesk(config, "export"), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              cwd=REPO)
    assert export.stdout is not None and export.stderr is not None
    head = subprocess.run(["head", "-1"], stdin=export.stdout, capture_output=True, timeout=120)
    export.stdout.close()  # head alone reads the pipe, so that once it exits, the pipe has no reader
    assert export.wait(120) == READER_GONE
    assert export.stderr.read() == b""
    export.stderr.close()
    assert json.loads(head.stdout)["external_id"] == "0"


def test_prune_archiving_into_a_reader_gone_ends_quietly_and_clears_nothing_unarchived(config: Path) -> None:
    result = _into_a_reader_gone(*_mentiondesk(config, "prune", "--raw-older-than", "1", "--archive", "/dev/stdout"))
    assert (result.returncode, result.stderr) == (READER_GONE, "")
    db = Database.open(f"sqlite:///{config.parent / 'mentiondesk.db'}")
    with db.read() as session:
        assert session.scalar(select(func.count()).where(Mention.raw_pruned_at.is_not(None))) == 0
    db.dispose()


def test_classify_into_a_reader_gone_ends_quietly(config: Path, tmp_path: Path) -> None:
    lines = tmp_path / "in.jsonl"
    lines.write_text("".join(json.dumps({"text": f"acme text {n}", "lang": "en"}) + "\n" for n in range(500)),
                     encoding="utf-8")
    result = _into_a_reader_gone(sys.executable, "-c", CLASSIFY_WITH_A_STAND_IN, "--config", str(config), "classify",
                                 "--backend", "default", "--input", str(lines), "--output", "/dev/stdout")
    assert result.returncode == READER_GONE, result.stderr
    assert "Error" not in result.stderr and "Traceback" not in result.stderr
