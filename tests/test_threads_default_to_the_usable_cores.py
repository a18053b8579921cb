"""With no thread count set, the model runs a thread per core this process may use (`taskset`, docker
--cpuset-cpus), not per core of the host: more threads than cores only slow it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
ON_ONE_CORE = """
import os
os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
import torch
from sentiment.runtime import set_threads
set_threads(None)
print(torch.get_num_threads())
"""


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity") or len(os.sched_getaffinity(0)) < 2,
                    reason="needs Linux and two cores to run on")
def test_a_process_held_to_one_core_runs_one_thread() -> None:
    ran = subprocess.run([sys.executable, "-c", ON_ONE_CORE], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.split() == ["1"]
