"""`deploy/check-health` run with missing or wrong arguments prints its usage and exits 2, rather than
"line 5: $1: unbound variable" (until 2026-12-07) or a failure that reads like an unhealthy worker."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

CHECK_HEALTH = Path(__file__).resolve().parents[1] / "deploy" / "check-health"


@pytest.mark.parametrize("args", [[], ["a.json", "60", "extra"], ["a.json", "a minute"]])
def test_wrong_arguments_print_the_usage_and_exit_2(args: list[str]) -> None:
    probe = subprocess.run([str(CHECK_HEALTH), *args], capture_output=True, text=True)
    assert probe.returncode == 2, probe.stderr
    assert probe.stderr.startswith("usage: ") and "HEALTH-FILE [MAX-AGE-SECONDS]" in probe.stderr
    assert "unbound variable" not in probe.stderr and probe.stdout == ""


def test_a_missing_health_file_still_fails_as_unhealthy(tmp_path: Path) -> None:
    probe = subprocess.run([str(CHECK_HEALTH), str(tmp_path / "worker-1.json")], capture_output=True, text=True)
    assert probe.returncode == 1 and probe.stderr == f"no health file {tmp_path / 'worker-1.json'}\n"
