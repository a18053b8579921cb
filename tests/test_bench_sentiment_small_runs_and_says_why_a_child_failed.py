"""bench/sentiment.py: its mixed workload takes as many texts as --n gives (below 512 it sampled more than there
were, and crashed); a child process that fails is reported with the end of its own error output (it was hidden
behind CalledProcessError); and --n, --threads and --precisions are checked before anything runs."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from bench.sentiment import MIXED

REPO = Path(__file__).resolve().parents[1]
SETS = ["tweeteval_val", "semeval2017_4a_train",
        *(f"xlmt_{language}_{split}" for language in ("arabic", "english", "french", "german", "hindi", "italian",
                                                      "portuguese", "spanish") for split in ("train", "val"))]


def _bench(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # A model folder that cannot be made: the first child, building the model caches, fails at once.
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    env = {**os.environ, "MENTIONDESK_MODEL_DIR": str(blocked / "models")}
    return subprocess.run([sys.executable, "bench/sentiment.py", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=300)


def _data(tmp_path: Path) -> Path:
    """A data folder of the layout sentiment.data reads, a few rows a set."""
    folder = tmp_path / "data"
    folder.mkdir()
    rows = [{"text": "great day", "label": "positive"}, {"text": "awful service", "label": "negative"}]
    for name in SETS:
        (folder / f"{name}.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return folder


class _Labeller:
    """Answers every text negative: the workload's own sampling is what is checked."""

    def __init__(self) -> None:
        self.calls: list[int] = []

    def classify(self, texts: list[str], langs: list[str] | None) -> list[SimpleNamespace]:
        self.calls.append(len(texts))
        return [SimpleNamespace(label="negative") for _ in texts]

    def embed(self, texts: list[str]) -> None:
        pass


def test_the_mixed_workload_takes_calls_of_at_most_the_texts_given() -> None:
    labeller = _Labeller()
    exec(MIXED, {"random": random, "texts": [f"tweet {i}" for i in range(128)], "clf": labeller})
    assert len(labeller.calls) == 60 and max(labeller.calls) == 128 and min(labeller.calls) >= 1


def test_a_failing_child_is_reported_with_its_own_error(tmp_path: Path) -> None:
    result = _bench(tmp_path, "--data", str(_data(tmp_path)), "--precisions", "int8", "--n", "64", "--no-accuracy")
    assert result.returncode == 1
    assert "building the int8 model caches failed (exit status 1):" in result.stderr
    assert "cannot lock" in result.stderr and "Not a directory" in result.stderr


@pytest.mark.parametrize(("args", "refused"), [
    (["--n", "-5"], "--n: must be at least 1, got -5"),
    (["--threads", "0"], "--threads: must be 1 to 256, got 0"),
    (["--precisions", "int8,foo"], "--precisions: not precisions: 'foo' (choose from auto, fp32, bf16, int8)"),
])
def test_a_bad_value_is_a_usage_error_naming_the_option(tmp_path: Path, args: list[str], refused: str) -> None:
    result = _bench(tmp_path, "--data", str(_data(tmp_path)), *args, "--no-accuracy")
    assert result.returncode == 2, result.stderr
    assert f"sentiment.py: error: argument {refused}" in result.stderr


def test_a_missing_data_folder_is_a_usage_error(tmp_path: Path) -> None:
    result = _bench(tmp_path, "--data", str(tmp_path / "nowhere"), "--no-accuracy")
    assert result.returncode == 2, result.stderr
    assert f"sentiment.py: error: argument --data: no such folder: {tmp_path / 'nowhere'}" in result.stderr
