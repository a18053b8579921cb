"""One-off model builds (conversion, bf16 copy, int8 graphs) run in a child process, one at a time.

They peak at 1.3-1.9 GB, and the allocator keeps much of that for the life of the process that
built them: a worker that built its caches on its first start would otherwise sit near 1 GB
until restarted, rather than at the ~650 MB of any later start. Several workers starting
together on a fresh host take turns through a file lock beside the cache, and one that waited
finds the cache built rather than building it again (and replacing it under the others' feet).
"""
from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from filelock import FileLock

from sentiment.errors import SentimentError


def scratch_prefix(target: Path) -> str:
    """The name of a temporary folder beside `target` that a build of it fills (convert.write_folder_atomically)."""
    return f".{target.name}.convert-"


def build_once(target: Path, ready: Callable[[], bool], module: str, args: list[str],
               error: type[SentimentError], what: str, also_writes: Sequence[Path] = ()) -> None:
    """Unless `ready()`, run `python -m module *args` in a child to build `target` (and `also_writes`), holding
    a lock beside it (`.<name>.lock`); checks `ready()` again once it holds the lock.

    Before building it removes what an earlier build of these folders left when it was killed (a
    conversion's ~500 MB each time: a service restarted after each kill filled the disk). Builds of
    them run under this lock, so none of those folders is still being written (unless by one run
    unlocked, by hand: at worst that one fails and is run again)."""
    if ready():
        return
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(target.parent / f".{target.name}.lock"))
        lock.acquire()
    except OSError as exc:
        raise error(f"{what} failed: cannot lock {target.parent}: {exc}") from exc
    try:
        if not ready():
            for folder in (target, *also_writes):
                _remove_scratch(folder)
            run_module(module, args, error, what)
    finally:
        lock.release()


def _remove_scratch(target: Path) -> None:
    for scratch in target.parent.glob(glob.escape(scratch_prefix(target)) + "*"):
        if scratch.is_dir():
            shutil.rmtree(scratch, ignore_errors=True)


def run_module(module: str, args: list[str], error: type[SentimentError], what: str) -> None:
    """`python -m module *args` in a child; a failure raises `error` with the child's last line."""
    # The child imports this package from where the parent did, installed or not.
    paths = [str(Path(__file__).resolve().parent.parent), os.environ.get("PYTHONPATH", "")]
    done = subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True, check=False,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, paths))})
    if done.returncode:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise error(f"{what} failed: {last}")
