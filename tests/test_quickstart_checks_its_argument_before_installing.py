"""`./quickstart.sh` with no command, one it does not know or --help prints its usage at once: it created .venv
and installed torch and every extra (minutes, GBs) before looking at its argument."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.quickstart_stand_ins import calls, quickstart, repository_copy


@pytest.mark.parametrize("args", [(), ("frobnicate",), ("", "demo")], ids=["none", "unknown", "empty"])
def test_a_missing_or_unknown_command_is_refused_before_anything_is_made(tmp_path: Path, args: tuple[str]) -> None:
    repo = repository_copy(tmp_path)
    result = quickstart(repo, *args)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("usage: ./quickstart.sh demo|test [args]"), result.stderr
    assert calls(repo) == []  # no venv made, nothing installed
    assert sorted(p.name for p in repo.iterdir()) == ["pyproject.toml", "quickstart.sh"]


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help_prints_the_usage_and_makes_nothing(tmp_path: Path, flag: str) -> None:
    repo = repository_copy(tmp_path)
    result = quickstart(repo, flag)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: ./quickstart.sh demo|test [args]") and result.stderr == ""
    assert calls(repo) == []
    assert sorted(p.name for p in repo.iterdir()) == ["pyproject.toml", "quickstart.sh"]
