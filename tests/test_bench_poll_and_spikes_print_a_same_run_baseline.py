"""bench/poll.py and bench/spikes.py print their figures against a baseline measured in the same run, as the
other benches do: they printed absolute figures only. poll.py: its store step (ingest_page) against the same
fetched pages stored one mention a transaction; spikes.py: the default rules against a fixed threshold."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _bench(script: str, *args: str) -> str:
    result = subprocess.run([sys.executable, f"bench/{script}", *args], cwd=REPO, env=dict(os.environ),
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_poll_prints_its_store_step_against_row_by_row_inserts_of_the_same_pages() -> None:
    lines = _bench("poll.py", "--posts", "200", "--baseline-pages", "2").splitlines()
    assert lines[0].split() == ["connector", "posts", "stored", "pages", "seconds", "mentions/s", "ingest_page/s",
                                "row-by-row/s", "ratio"]
    for connector, line in zip(("x", "reddit"), lines[1:3]):
        assert re.fullmatch(rf"{connector} +200 +\d+ +\d+ +[\d.]+ +\d+ +\d+ +\d+ +[\d.]+x", line), line
    assert lines[3].startswith("ingest_page/s: the poll's store step alone; row-by-row/s: the baseline, the first 2 "
                               "of the same pages stored one mention a transaction")


def test_spikes_prints_each_rule_against_a_fixed_threshold_on_the_same_series() -> None:
    header, *rows = [line.strip("| ").split(" | ") for line in _bench("spikes.py", "--days", "10").splitlines()
                     if line.startswith("| ")]
    assert header[:3] == ["stream", "rule", "detector"]
    streams = ["busy brand (60/h), spikes", "busy brand (60/h), no spikes", "quiet brand (3/h), no spikes"]
    assert [row[:2] for row in rows] == [[stream, rule] for stream in streams
                                         for rule in ("volume_spike", "negative_spike") for _ in range(2)]
    assert [row[2] for row in rows[::2]] == ["default rules"] * 6
    assert all(re.fullmatch(r"fixed: ≥ \d+ in 60 min", row[2]) for row in rows[1::2])
    # A quiet brand's usual count is far below each rule's floor (min_count): the threshold is the floor.
    assert [row[2] for row in rows[9::2]] == ["fixed: ≥ 20 in 60 min", "fixed: ≥ 12 in 60 min"]
