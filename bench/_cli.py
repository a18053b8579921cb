"""What the bench scripts share at the command line: argument types that turn a bad value into a usage
error (exit 2, naming the option) before anything runs, and child processes whose failure shows why."""

from __future__ import annotations

import argparse
import math
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sentiment.runtime import MAX_THREADS

# The file every sentiment bench reads first (sentiment.data.load_splits).
SENTIMENT_FIRST_FILE = "tweeteval_val.jsonl"


def number(minimum: float, maximum: float = math.inf, kind: type[int] | type[float] = int) -> Callable[[str], Any]:
    """An argparse type: a number of `kind` (whole for int) from `minimum` to `maximum`."""
    def parse(text: str) -> int | float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"not a {'whole ' if kind is int else ''}number: {text!r}") from None
        if not (math.isfinite(value) and minimum <= value <= maximum):
            low, high = (f"{bound:g}" if isinstance(bound, float) else str(bound) for bound in (minimum, maximum))
            bounds = f"at least {low}" if maximum == math.inf else f"{low} to {high}"
            raise argparse.ArgumentTypeError(f"must be {bounds}, got {text}")
        return value
    return parse


positive_int = number(1)
# What the model takes (sentiment.runtime.set_threads).
thread_count = number(1, MAX_THREADS)


def positive_ints(text: str) -> list[int]:
    """An argparse type: comma-separated whole numbers, each at least 1 (e.g. 1,2,4)."""
    return [positive_int(part.strip()) for part in text.split(",")]


def sentiment_data(text: str) -> Path:
    """An argparse type: a folder of the sentiment data sets (as `--data`; give the default as a string, so
    argparse checks it too)."""
    folder = Path(text)
    if not folder.is_dir():
        raise argparse.ArgumentTypeError(f"no such folder: {text}")
    if not (folder / SENTIMENT_FIRST_FILE).is_file():
        raise argparse.ArgumentTypeError(f"{text} holds no {SENTIMENT_FIRST_FILE}: not the sentiment data folder")
    return folder


def run_child(what: str, command: list[str], **kwargs: object) -> str:
    """Run `command` and return its standard output; where it fails, exit naming `what`, with the end of
    its standard error (captured, so it would be lost otherwise)."""
    done = subprocess.run(command, capture_output=True, text=True, check=False, **kwargs)  # type: ignore[call-overload]
    if done.returncode:
        sys.exit(f"{what} failed (exit status {done.returncode}):\n{done.stderr[-3000:]}")
    return done.stdout
