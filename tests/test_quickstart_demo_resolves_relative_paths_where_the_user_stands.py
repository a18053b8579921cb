"""`path/to/quickstart.sh demo --home=mydemo` from another folder runs the demo in that folder, so relative paths in
its arguments and in MENTIONDESK_HOME / MENTIONDESK_CONFIG are the user's: it ran in the checkout, and put
`mydemo` there. The install still goes into the checkout's .venv, and `test` still runs the checkout's suite."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.quickstart_stand_ins import calls, quickstart, repository_copy


def _log_the_folder(tool: Path) -> None:
    """Make the stand-in venv's `tool` log the folder it runs in, too."""
    tool.write_text(f'#!/usr/bin/env bash\necho "venv-{tool.name} in $PWD: $*" >> "$QUICKSTART_CALLS"\n',
                    encoding="utf-8")


def test_the_demo_runs_in_the_callers_folder_and_the_suite_in_the_checkout(tmp_path: Path) -> None:
    repo = repository_copy(tmp_path)
    assert quickstart(repo, "demo").returncode == 0  # makes .venv (stand-ins) and installs into it
    calls(repo)
    for tool in ("mentiondesk", "python"):
        _log_the_folder(repo / ".venv/bin" / tool)
    caller = tmp_path / "my work"
    caller.mkdir()
    env = {**os.environ, "PYTHON": str(tmp_path / "python3"), "QUICKSTART_CALLS": str(tmp_path / "calls.log")}

    for command in (["demo", "--home=mydemo", "--once"], ["test", "-k", "ingest"]):
        done = subprocess.run([str(repo / "quickstart.sh"), *command], cwd=caller, env=env, capture_output=True,
                              text=True, timeout=60)
        assert done.returncode == 0, done.stderr

    assert calls(repo) == [f"venv-python in {repo}: -m pip --version",
                           f"venv-mentiondesk in {caller}: demo --home=mydemo --once",
                           f"venv-python in {repo}: -m pip --version",
                           f"venv-python in {repo}: -m pytest -ra -n auto --maxprocesses 4 -k ingest"]
    assert sorted(p.name for p in repo.iterdir()) == [".venv", "pyproject.toml", "quickstart.sh"]
