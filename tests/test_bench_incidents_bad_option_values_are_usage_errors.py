"""bench/incidents.py refuses a bad option value with a usage error (exit 2, naming the option) before anything runs,
as the other benches do: `--step-minutes 0` ran forever, `--days 0` crashed dividing by zero at the end of the run,
and a detection setting the config would refuse (`--similarity nan`) was a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_bench_bad_option_values_are_usage_errors import _bench


@pytest.mark.parametrize(("args", "refused"), [
    (["--step-minutes", "0"], "--step-minutes: must be at least 1, got 0"),
    (["--days", "0"], "--days: must be at least 1, got 0"),
    (["--warmup-days", "-1"], "--warmup-days: must be at least 0, got -1"),
    (["--incidents", "7"], "--incidents: must be 0 to 6, got 7"),
    (["--similarity", "nan"], "--similarity: must be a finite number, got nan"),
    (["--window-minutes", "0"], "--window-minutes: must be greater than 0, got 0"),
    (["--min-mentions", "1"], "--min-mentions: must be greater than or equal to 2, got 1"),
])
def test_a_bad_value_is_a_usage_error_naming_the_option(tmp_path: Path, args: list[str], refused: str) -> None:
    result = _bench(tmp_path, "incidents.py", *args)
    assert result.returncode == 2, result.stderr
    assert f"incidents.py: error: argument {refused}" in result.stderr
    assert "Traceback" not in result.stderr
