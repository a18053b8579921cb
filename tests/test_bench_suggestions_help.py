"""`bench/suggestions.py --help` prints what the bench does and exits, as the other benches do: it ran the whole
bench (loading the model, classifying 120 mentions), and any other argument was ignored."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _bench(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # A model folder that cannot be made: were the bench to run, it would stop at the model rather than convert it.
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    env = {**os.environ, "MENTIONDESK_MODEL_DIR": str(blocked / "models")}
    return subprocess.run([sys.executable, "bench/suggestions.py", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=120)


def test_help_describes_the_bench_without_running_it(tmp_path: Path) -> None:
    result = _bench(tmp_path, "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: suggestions.py [-h]")
    assert "Reply suggestions on labelled mention → template pairs." in result.stdout


@pytest.mark.parametrize("argument", ["--rounds", "extra"])
def test_an_argument_it_does_not_take_is_refused(tmp_path: Path, argument: str) -> None:
    result = _bench(tmp_path, argument)
    assert result.returncode == 2 and "unrecognized arguments" in result.stderr, result.stderr
