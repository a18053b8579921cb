"""Run quickstart.sh in a copy of the repository with stand-ins for Python: never a real install.

``PYTHON`` names a stand-in that logs how it was called and, asked for a venv, makes one whose ``python``
(pip included) and ``mentiondesk`` only log their calls too. Every call lands in ``calls.log``, one a line.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

_STAND_IN_PYTHON = """#!/usr/bin/env bash
echo "python $*" >> "$QUICKSTART_CALLS"
if [ "$1 $2" = "-m venv" ]; then
  venv="${@: -1}"
  [ "$3" = --clear ] && rm -rf "$venv"
  mkdir -p "$venv/bin"
  echo "home = /usr/bin" > "$venv/pyvenv.cfg"
  for tool in python mentiondesk; do
    printf '#!/usr/bin/env bash\\necho "venv-%s $*" >> "$QUICKSTART_CALLS"\\n' "$tool" > "$venv/bin/$tool"
    chmod +x "$venv/bin/$tool"
  done
fi
"""


def repository_copy(tmp_path: Path) -> Path:
    """What quickstart.sh reads (itself and pyproject.toml, whose hash decides the install), and the stand-in."""
    repo = tmp_path / "repo"
    repo.mkdir()
    for name in ("quickstart.sh", "pyproject.toml"):
        shutil.copy2(REPO / name, repo / name)
    stand_in = tmp_path / "python3"
    stand_in.write_text(_STAND_IN_PYTHON, encoding="utf-8")
    stand_in.chmod(0o755)
    return repo


def quickstart(repo: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["./quickstart.sh", *args], cwd=repo, capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHON": str(repo.parent / "python3"),
                               "QUICKSTART_CALLS": str(repo.parent / "calls.log"), **env})


def calls(repo: Path) -> list[str]:
    """What the stand-ins were asked to do since the last look (the log is emptied)."""
    log = repo.parent / "calls.log"
    if not log.exists():
        return []
    lines = log.read_text(encoding="utf-8").splitlines()
    log.unlink()
    return lines
