"""quickstart.sh makes .venv again when it has python but no pip, as `python3 -m venv` interrupted during ensurepip
leaves it: it looked only for bin/python, and every later run failed with ".venv/bin/pip: No such file or
directory". A folder that is not a venv is never emptied to make one."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.quickstart_stand_ins import calls, quickstart, repository_copy

INSTALL = ["venv-python -m pip install --quiet --no-compile torch==2.13.0",
           "venv-python -m pip install --quiet --no-compile -e .[all,test]"]


def test_a_venv_without_pip_is_made_again_and_installed_into(tmp_path: Path) -> None:
    repo = repository_copy(tmp_path)
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(repo / ".venv")], check=True, timeout=60)
    assert (repo / ".venv/bin/python").exists() and not (repo / ".venv/bin/pip").exists()

    first = quickstart(repo, "demo", "--once")
    assert first.returncode == 0, first.stderr
    assert calls(repo) == ["python -m venv --clear .venv", *INSTALL, "venv-mentiondesk demo --once"]

    again = quickstart(repo, "demo", "--once")  # a whole venv, installed: used as it is
    assert again.returncode == 0, again.stderr
    assert calls(repo) == ["venv-python -m pip --version", "venv-mentiondesk demo --once"]


def test_a_folder_that_is_not_a_venv_is_refused_and_kept(tmp_path: Path) -> None:
    repo = repository_copy(tmp_path)
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "keep.txt").write_text("mine", encoding="utf-8")
    result = quickstart(repo, "demo", MENTIONDESK_VENV=str(notes))
    assert result.returncode == 1, result.stderr
    assert f"error: {notes} is not a virtual environment" in result.stderr and "MENTIONDESK_VENV" in result.stderr
    assert calls(repo) == []
    assert [p.name for p in notes.iterdir()] == ["keep.txt"]
    assert (notes / "keep.txt").read_text(encoding="utf-8") == "mine"
