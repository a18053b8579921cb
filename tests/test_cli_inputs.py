"""`mentiondesk classify` and `evaluate` reading input that can be read only once: a pipe, a FIFO."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from tests.test_sentiment_hf import make_model  # noqa: E402

LINES = '{"text": "the service is good", "label": "positive"}\n{"text": "awful", "label": "positive"}\n'


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(make_model(tmp_path_factory.mktemp("hf") / "model", {0: "negative", 1: "neutral", 2: "positive"},
                          [0.0, 0.0, 5.0]))


def mentiondesk(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """The real command in its own process, so that its stdin is a real pipe."""
    command = [sys.executable, "-c", "from monitor.cli import main; main()", *args]
    return subprocess.run(command, input=stdin, capture_output=True, text=True, timeout=120)


def test_classify_reads_a_pipe_once_and_whole(tiny_model: str, tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    result = mentiondesk("classify", "--input", "/dev/stdin", "--output", str(out), "--prefix", "model_",
                         "--backend", "hf", "--model", tiny_model, stdin=LINES)
    assert result.returncode == 0, result.stderr
    assert "classified 2 line(s)" in result.stderr  # it said 0, having spent the pipe counting lines
    assert [json.loads(line)["model_label"] for line in out.read_text().splitlines()] == ["positive", "positive"]


def test_evaluate_reads_a_fifo_once_and_whole(tiny_model: str, tmp_path: Path) -> None:
    fifo = tmp_path / "gold.fifo"
    os.mkfifo(fifo)
    threading.Thread(target=fifo.write_text, args=(LINES,), daemon=True).start()  # opens once a reader does
    result = mentiondesk("evaluate", "--input", str(fifo), "--backend", "hf", "--model", tiny_model)  # it hung
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[:2] == ["n            2", "accuracy     1.0000"]
