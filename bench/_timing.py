"""What the page-latency benches (queue.py, analytics.py) share: p50 and p95 of repeated calls."""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable


def timed(fn: Callable[[], object], repeats: int) -> tuple[float, float]:
    """p50 and p95 in ms of `repeats` calls of `fn`, after an untimed call that warms the caches, as a page
    in use has them. p95 is the nearest rank: the fastest sample that 95% of them are no slower than."""
    fn()
    samples = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t) * 1000)
    samples.sort()
    return statistics.median(samples), samples[math.ceil(0.95 * len(samples)) - 1]
