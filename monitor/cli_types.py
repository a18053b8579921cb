"""Argument types the `mentiondesk` commands share."""

from __future__ import annotations

import math
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import click
from sqlalchemy import BigInteger
from sqlalchemy.orm import InstrumentedAttribute

from connectors.base import MAX_SETTING_SECONDS
from monitor.errors import NotFound


class Seconds(click.FloatRange):
    """A finite number of seconds, at least `min` and at most a week: click's FloatRange lets "nan" and "inf"
    through (`run --max-seconds nan` stopped at once, reporting success), and waits past ~9.2e9 s overflow
    threading's timeouts (`classify-pending --watch 1e10` ended in a traceback)."""

    name = "seconds"

    def __init__(self, min: float | None = None) -> None:
        super().__init__(min=min, max=MAX_SETTING_SECONDS)  # so --help shows the range

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        seconds = click.FLOAT.convert(value, param, ctx)
        if not math.isfinite(seconds):
            self.fail(f"{value!r} is not a number of seconds", param, ctx)
        if seconds > MAX_SETTING_SECONDS:
            self.fail(f"{value!r} is more than a week ({MAX_SETTING_SECONDS:.0f} seconds)", param, ctx)
        return super().convert(seconds, param, ctx)


class DatabaseId(click.IntRange):
    """A positive id of ``column``, the key of the rows ``what`` names ("incident"): past 64 bits, which neither
    database holds, a usage error; past the column's own range, "incident N not found" before any query, as
    SQLite says of any id it does not hold (its INTEGER keys are 64-bit). PostgreSQL's INTEGER keys are 32-bit:
    a bigger id reached the driver there and failed with "database error: integer out of range"."""

    def __init__(self, column: InstrumentedAttribute[int], what: str) -> None:
        super().__init__(min=1, max=2**63 - 1)
        self.largest = 2**63 - 1 if isinstance(column.type, BigInteger) else 2**31 - 1
        self.what = what

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if number > self.largest:
            raise NotFound(f"{self.what} {number} not found")
        return number


def is_same_file(path: Path, other: Path) -> bool:
    """Whether the two paths name one file: through links and hard links where both exist, else as resolved."""
    try:
        return os.path.samefile(path, other)
    except OSError:  # one does not exist (yet), or cannot be looked at
        return path.resolve() == other.resolve()


def refuse_own_file(path: Path, own_files: Iterable[tuple[Path, str]], param_hint: str) -> None:
    """A usage error naming the option (``param_hint``) where ``path`` is one of ``own_files`` (path, what it is)."""
    for own, what in own_files:
        if is_same_file(path, own):
            raise click.BadParameter(f"{path} is {what}: writing it would destroy it; name another file",
                                     param_hint=param_hint)


def refuse_own_files(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path | None:
    """The callback of every option naming a file a command writes: refuses mentiondesk's config file and its
    SQLite database's files (monitor.cli.App.own_files) before the command does anything (`export -o
    mentiondesk.db` replaced the live database, `run --health-file mentiondesk.toml` the config, exit 0).
    "-" is standard output; a command run outside the `mentiondesk` group has no files of its own."""
    app = ctx.find_root().obj
    if value is not None and str(value) != "-" and app is not None:
        refuse_own_file(value, app.own_files(), param.get_error_hint(ctx))
    return value
