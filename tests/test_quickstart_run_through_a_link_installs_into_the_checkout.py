"""quickstart.sh run through a symbolic link (say ~/bin/mentiondesk-quickstart) works in the checkout the link
points to: it made a .venv beside the link, then failed for want of pyproject.toml there."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.quickstart_stand_ins import calls, repository_copy

INSTALL = ["venv-python -m pip install --quiet --no-compile torch==2.13.0",
           "venv-python -m pip install --quiet --no-compile -e .[all,test]"]


def test_a_link_to_quickstart_installs_into_the_checkout_and_runs_the_demo(tmp_path: Path) -> None:
    repo = repository_copy(tmp_path)
    links = tmp_path / "bin"
    links.mkdir()
    (links / "qs").symlink_to(repo / "quickstart.sh")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    done = subprocess.run([str(links / "qs"), "demo", "--once"], cwd=elsewhere, capture_output=True, text=True,
                          timeout=60, env={**os.environ, "PYTHON": str(tmp_path / "python3"),
                                           "QUICKSTART_CALLS": str(tmp_path / "calls.log")})

    assert done.returncode == 0, done.stderr
    assert calls(repo) == ["python -m venv --clear .venv", *INSTALL, "venv-mentiondesk demo --once"]
    assert (repo / ".venv/bin/mentiondesk").exists()
    assert [p.name for p in links.iterdir()] == ["qs"] and list(elsewhere.iterdir()) == []
