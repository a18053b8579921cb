"""One-off model builds (conversion, bf16 copy, int8 graphs) run in a child process.

They peak at 1.4-1.9 GB, and the allocator keeps much of that for the life of the process that
built them: a worker that built its caches on its first start would otherwise sit near 1 GB
until restarted, rather than at the ~650 MB of any later start.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sentiment.errors import SentimentError


def run_module(module: str, args: list[str], error: type[SentimentError], what: str) -> None:
    """`python -m module *args` in a child; a failure raises `error` with the child's last line."""
    # The child imports this package from where the parent did, installed or not.
    paths = [str(Path(__file__).resolve().parent.parent), os.environ.get("PYTHONPATH", "")]
    done = subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True, check=False,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, paths))})
    if done.returncode:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise error(f"{what} failed: {last}")
