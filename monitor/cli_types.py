"""Argument types the `mentiondesk` commands share."""

from __future__ import annotations

import math
from typing import Any

import click

from connectors.base import MAX_SETTING_SECONDS


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
