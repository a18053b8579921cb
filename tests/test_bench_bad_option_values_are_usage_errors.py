"""A bad option value for a bench is a one-line usage error (exit 2, naming the option) before anything runs: it
was a traceback (a zero page size or round count, a missing data folder, a precision the model does not take,
too few days for the spike warm-up), or figures of nothing with exit 0 (`batching.py --repeats 0` printed nan)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _bench(tmp_path: Path, script: str, *args: str) -> subprocess.CompletedProcess[str]:
    # A model folder that cannot be made and no PostgreSQL: were a bench to run on, it would stop at once.
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    env = {name: value for name, value in os.environ.items() if name != "MENTIONDESK_TEST_POSTGRES_URL"}
    env["MENTIONDESK_MODEL_DIR"] = str(blocked / "models")
    return subprocess.run([sys.executable, f"bench/{script}", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=300)


@pytest.mark.parametrize(("script", "args", "refused"), [
    ("ingest.py", ["--baseline-count", "0"], "--baseline-count: must be at least 1, got 0"),
    ("ingest.py", ["--page-size", "0"], "--page-size: must be at least 1, got 0"),
    ("poll.py", ["--page-size", "0"], "--page-size: must be 10 to 100, got 0"),
    ("auth.py", ["--rounds", "0"], "--rounds: must be at least 1, got 0"),
    ("spikes.py", ["--days", "8"], "--days: must be more than the 8 days of warm-up, got 8"),
    ("queue.py", ["--rows", "0"], "--rows: must be at least 1, got 0"),
    ("analytics.py", ["--rows", "0"], "--rows: must be 1 to 2147483647, got 0"),
    ("batching.py", ["--n", "0"], "--n: must be at least 1, got 0"),
    ("batching.py", ["--repeats", "0"], "--repeats: must be at least 1, got 0"),
    ("batching.py", ["--data", "/nonexistent"], "--data: no such folder: /nonexistent"),
    ("int8_isa.py", ["--per-set", "-3"], "--per-set: must be at least 1, got -3"),
    ("int8_isa.py", ["--data", "/nonexistent"], "--data: no such folder: /nonexistent"),
    ("early_exit.py", ["--data", "/nonexistent"], "--data: no such folder: /nonexistent"),
    ("early_exit.py", ["--precision", "foo"], "--precision: invalid choice: 'foo'"),
])
def test_a_bad_value_is_a_usage_error_naming_the_option(tmp_path: Path, script: str, args: list[str],
                                                         refused: str) -> None:
    result = _bench(tmp_path, script, *args)
    assert result.returncode == 2, result.stderr
    assert f"{script}: error: argument {refused}" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_folder_without_the_sentiment_data_is_refused_by_name(tmp_path: Path) -> None:
    result = _bench(tmp_path, "batching.py", "--data", str(tmp_path))
    assert result.returncode == 2
    assert f"argument --data: {tmp_path} holds no tweeteval_val.jsonl: not the sentiment data folder" in result.stderr
