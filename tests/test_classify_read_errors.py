"""`mentiondesk classify --input F --output O`: a failure to read F is a read error naming --input (it said
"cannot write" O), a failure to write O still names --output, and neither leaves O half-written."""

from __future__ import annotations

import errno
import io
import json
import os
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

import sentiment.api
from monitor.cli import cli
from tests.classify_worker import SlowModel

LINES = "".join(json.dumps({"text": f"line {n}"}) + "\n" for n in range(6))
EARLIER = '{"text": "an earlier run", "label": "neutral"}\n'


def _classify(monkeypatch: pytest.MonkeyPatch, src: Path, out: Path, after_load: Any = lambda: None) -> Result:
    """The command with a stand-in model; ``after_load`` runs once the arguments were checked, as the model loads."""
    def load(*args: Any) -> SlowModel:
        after_load()
        return SlowModel(0)

    monkeypatch.setattr(sentiment.api, "load_classifier", load)
    return CliRunner().invoke(cli, ["classify", "--input", str(src), "--output", str(out)])


def _assert_read_error(result: Result, src: Path, reason: str, out: Path) -> None:
    assert result.exit_code == 2, result.output
    assert f"Invalid value for --input: cannot read {src}: {reason}" in result.output
    assert "cannot write" not in result.output and "--output" not in result.output
    assert out.read_text() == EARLIER  # the earlier output as it was, and no part file beside it
    assert [p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}.")] == []


@pytest.fixture
def earlier(tmp_path: Path) -> Path:
    out = tmp_path / "out" / "classified.jsonl"
    out.parent.mkdir()
    out.write_text(EARLIER)
    return out


@pytest.mark.skipif(not Path("/proc/self/mem").is_file(), reason="needs Linux's /proc/self/mem")
def test_an_io_error_reading_the_input_is_a_read_error(monkeypatch: pytest.MonkeyPatch, earlier: Path) -> None:
    # Reading /proc/self/mem from its start fails with EIO, a real I/O error: it said "cannot write" the output.
    src = Path("/proc/self/mem")
    _assert_read_error(_classify(monkeypatch, src, earlier), src, "Input/output error", earlier)


@pytest.mark.parametrize("becomes, reason", [("gone", "No such file or directory"), ("a folder", "Is a directory")])
def test_an_input_gone_or_made_a_folder_after_the_checks_is_a_read_error(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, earlier: Path, becomes: str, reason: str) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text(LINES)

    def change() -> None:
        src.unlink()
        if becomes == "a folder":
            src.mkdir()

    _assert_read_error(_classify(monkeypatch, src, earlier, change), src, reason, earlier)


class FailingDisk(io.RawIOBase):
    """``data`` until its first ``good`` bytes are read, then EIO: a disk failing part-way through a file."""

    def __init__(self, data: bytes, good: int) -> None:
        self.data, self.good, self.position = data, good, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self.position >= self.good:
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        chunk = self.data[self.position:min(self.good, self.position + len(buffer))]
        buffer[:len(chunk)] = chunk
        self.position += len(chunk)
        return len(chunk)


def test_an_io_error_part_way_through_the_input_leaves_no_half_written_output(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, earlier: Path) -> None:
    src = tmp_path / "in.fifo"  # read once, not counted first: the failure comes after lines were written
    os.mkfifo(src)
    good = len("".join(LINES.splitlines(keepends=True)[:3]))
    opened = Path.open
    monkeypatch.setattr(Path, "open", lambda self, mode="r", *args, **kwargs: (
        io.BufferedReader(FailingDisk(LINES.encode(), good)) if self == src else opened(self, mode, *args, **kwargs)))
    monkeypatch.setattr("sentiment.cli._CHUNK", 1)  # each line classified and written as it is read
    _assert_read_error(_classify(monkeypatch, src, earlier), src, "Input/output error", earlier)


def test_a_failure_to_write_the_output_still_names_output(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text(LINES)
    missing = tmp_path / "no" / "out.jsonl"
    result = _classify(monkeypatch, src, missing)
    assert result.exit_code == 2
    assert f"Invalid value for --output: cannot write {missing}: No such file or directory" in result.output
    if Path("/dev/full").exists():  # every write fails with ENOSPC
        full = _classify(monkeypatch, src, Path("/dev/full"))
        assert full.exit_code == 2
        assert "Invalid value for --output: cannot write /dev/full: No space left on device" in full.output
