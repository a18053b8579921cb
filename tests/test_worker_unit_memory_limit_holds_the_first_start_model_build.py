"""The worker unit's MemoryMax holds the first start on a new host, which builds the model caches in a child
process inside the unit's cgroup. Until 2026-12-07 it was 1500M: the build (peak ~2 GB) was OOM-killed, the
worker exited before its first poll, and Restart=always started the same build again, forever."""

from __future__ import annotations

import re
from pathlib import Path

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"
MIB = 1024 * 1024
# Measured: a first start's process tree (worker plus its sentiment.convert child) peaked at 1984 MiB of
# anonymous memory, which a cgroup cannot reclaim without swap (sentiment/child.py: "peaks at 1.3-1.9 GB").
FIRST_START_BUILD_PEAK = 1984 * MIB
# Other processes' growth, allocator slack and the page cache of the files being written.
HEADROOM = 1.2
SIZE_SUFFIXES = {"": 1, "K": 1024, "M": MIB, "G": 1024 * MIB}


def _memory_max(unit: Path) -> int | None:
    found = re.search(r"^MemoryMax=(\d+)([KMG]?)$", unit.read_text(encoding="utf-8"), re.M)
    return None if found is None else int(found.group(1)) * SIZE_SUFFIXES[found.group(2)]


def test_the_worker_unit_leaves_room_for_the_first_start_model_build() -> None:
    limit = _memory_max(DEPLOY / "mentiondesk-worker@.service")
    assert limit is not None and limit >= FIRST_START_BUILD_PEAK * HEADROOM, limit

