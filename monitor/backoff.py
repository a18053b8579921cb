"""Waits that double with each failure (a failing connector, a guessed sign-in name), up to a cap."""

from __future__ import annotations

from datetime import timedelta
from typing import TypeVar

Wait = TypeVar("Wait", float, timedelta)


def doubled(first: Wait, times: int, most: Wait) -> Wait:
    """`first` doubled `times` times, at most `most`. ``first * 2 ** times`` overflows long before a
    cap matters (a float past 2**1024, a timedelta past ~2**45 s): a connector that had failed ~1,000
    times in a row, or a name guessed ~40 times past its lock-out, raised OverflowError."""
    wait = first
    for _ in range(max(0, times)):
        if wait >= most or not wait:
            break
        wait = wait * 2
    return min(wait, most)
