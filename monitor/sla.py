"""First-response SLA: a target per priority tier, counted in business hours when they are set.

A mention is due ``target`` of business time after it was posted; it is *at risk* once less than
``warn_fraction`` of the target is left, and *overdue* after that, until its first reply is sent
(``Mention.first_response_at``, set by :mod:`monitor.replies`).
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.errors import ConfigError
from monitor.models import Mention
from monitor.queue import SlaCutoff

_DAY = timedelta(days=1)
_MICROSECOND = timedelta(microseconds=1)
# The calendar's ends, two days in, so that a moment between them converts to any time zone: a
# mention stored with a date at either end (a post "from" 9999) gets a deadline capped there, not
# an OverflowError that stopped the queue page for everyone.
_EARLIEST = datetime(1, 1, 3, tzinfo=timezone.utc)
_LATEST = datetime(9999, 12, 29, tzinfo=timezone.utc)
# Business time is counted day by day: past ten years (a date decades off, never a real wait) the
# rest is not counted, so one such mention costs milliseconds rather than seconds per page.
_LONGEST_COUNTED = timedelta(days=3653)


def _in_calendar(moment: datetime) -> datetime:
    return min(max(moment, _EARLIEST), _LATEST)


@dataclass(frozen=True)
class SlaTier:
    name: str
    min_priority: float  # mentions with priority >= this (and below the next tier up)
    target: timedelta


@dataclass(frozen=True)
class BusinessHours:
    timezone: str = "UTC"
    weekdays: tuple[int, ...] = (0, 1, 2, 3, 4)  # Monday = 0
    start: time = time(9, 0)
    end: time = time(17, 0)

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a tzdata folder, e.g. "America"
            raise ConfigError(f"sla.business_hours.timezone: unknown time zone {self.timezone!r}") from None
        if not self.weekdays or any(d not in range(7) for d in self.weekdays):
            raise ConfigError("sla.business_hours.weekdays: give one or more of 0 (Monday) … 6 (Sunday)")
        for name in ("start", "end"):  # "08:30+01:00" would meet naive times of day: a TypeError
            if getattr(self, name).tzinfo is not None:
                raise ConfigError(f"sla.business_hours.{name}: give a local time; the zone is set by `timezone`")
        if self.start >= self.end:
            raise ConfigError("sla.business_hours: start must be before end")

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    # Cached: every deadline and elapsed time walks the same few days, and each bound costs two zone conversions.
    @lru_cache(maxsize=4096)
    def _open_span(self, day: date) -> tuple[datetime, datetime] | None:
        """The day's business hours, as UTC moments: see :func:`_first_moment_at` for the rule at DST changes."""
        if day.weekday() not in self.weekdays:
            return None
        zone = self.zone
        return _first_moment_at(day, self.start, zone), _first_moment_at(day, self.end, zone)


def _first_moment_at(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The first moment (in UTC) the local clock shows ``at`` on ``day`` or a later time: for a time in an hour
    repeated when the clocks go back, its first occurrence; for one in an hour skipped when they go forward, the
    moment they jumped. Later times of day always give later (or the same) moments, so each day's span is in order."""
    wall = datetime.combine(day, at)
    moment = wall.replace(tzinfo=zone).astimezone(timezone.utc)  # fold=0: the first occurrence of a repeated time
    if moment.astimezone(zone).replace(tzinfo=None) == wall:
        return moment
    # Skipped: read with the offset before the jump (fold=0) it lands after the jump, with the offset after it
    # (fold=1) before it; between the two the clock reads earlier than ``at`` until the jump, so bisect to it.
    before = wall.replace(tzinfo=zone, fold=1).astimezone(timezone.utc)
    while moment - before > _MICROSECOND:
        middle = before + (moment - before) // 2
        if middle.astimezone(zone).replace(tzinfo=None) >= wall:
            moment = middle
        else:
            before = middle
    return moment


def _default_tiers() -> tuple[SlaTier, ...]:
    return (
        SlaTier("urgent", 70.0, timedelta(hours=1)),
        SlaTier("high", 40.0, timedelta(hours=4)),
        SlaTier("normal", 0.0, timedelta(hours=24)),
    )


@dataclass(frozen=True)
class SlaPolicy:
    tiers: tuple[SlaTier, ...] = field(default_factory=_default_tiers)
    business_hours: BusinessHours | None = None  # None: the clock runs around the clock
    warn_fraction: float = 0.25

    def __post_init__(self) -> None:
        if not self.tiers:
            raise ConfigError("sla.tiers: give at least one tier")
        if not 0 <= self.warn_fraction < 1:
            raise ConfigError("sla.warn_fraction: must be at least 0 and below 1")
        # Highest threshold first, so the first tier a priority reaches is its tier.
        object.__setattr__(self, "tiers", tuple(sorted(self.tiers, key=lambda t: -t.min_priority)))

    def tier_for(self, priority: float | None) -> SlaTier:
        """Unscored mentions get the lowest tier: the model has not called them urgent."""
        if priority is not None:
            for tier in self.tiers:
                if priority >= tier.min_priority:
                    return tier
        return self.tiers[-1]


class SlaState(str, enum.Enum):
    ON_TRACK = "on track"
    AT_RISK = "at risk"
    OVERDUE = "overdue"
    MET = "met"
    MISSED = "missed"


@dataclass(frozen=True)
class SlaStatus:
    tier: SlaTier
    due_at: datetime
    state: SlaState
    # Business time left until due (negative once overdue); for answered mentions, the response time.
    remaining: timedelta


def _capped(moment: Callable[[], datetime], past_the_end: datetime) -> datetime:
    """``moment()`` kept within the calendar; `past_the_end` (the end it walks towards) if it walked off."""
    try:
        return _in_calendar(moment())
    except OverflowError:
        return past_the_end


def add_business_time(hours: BusinessHours | None, start: datetime, amount: timedelta) -> datetime:
    """The moment ``amount`` of business time after ``start``, or the calendar's end if that comes first."""
    return _capped(lambda: _add_business_time(hours, _in_calendar(start), amount), _LATEST)


# Moments are compared as UTC, never as local times: two local times in one zone compare by wall clock, ignoring
# `fold`, so a moment in a repeated hour would land on the wrong side of a span's bound.
def _add_business_time(hours: BusinessHours | None, start: datetime, amount: timedelta) -> datetime:
    if hours is None:
        return start + amount
    start = start.astimezone(timezone.utc)
    day = start.astimezone(hours.zone).date()  # no earlier day's span ends after ``start``
    left = amount
    while True:
        span = hours._open_span(day)
        if span is not None and start < span[1]:
            begin = max(start, span[0])
            if left <= span[1] - begin:
                return begin + left
            left -= span[1] - begin
        day += _DAY


def subtract_business_time(hours: BusinessHours | None, end: datetime, amount: timedelta) -> datetime:
    """The latest moment from which ``amount`` of business time has passed by ``end``, or the
    calendar's start if that comes first."""
    return _capped(lambda: _subtract_business_time(hours, _in_calendar(end), amount), _EARLIEST)


def _subtract_business_time(hours: BusinessHours | None, end: datetime, amount: timedelta) -> datetime:
    if hours is None:
        return end - amount
    end = end.astimezone(timezone.utc)
    day = _last_day_open_by(hours, end)
    left = amount
    while True:
        span = hours._open_span(day)
        if span is not None and end > span[0]:
            finish = min(end, span[1])
            if left <= finish - span[0]:
                return finish - left
            left -= finish - span[0]
        day -= _DAY


def _last_day_open_by(hours: BusinessHours, moment: datetime) -> date:
    """The last day whose span may begin before ``moment``: the day after its local date, since where the clocks
    went back over midnight (St. John's until 2010: 00:01 to 23:01) the next day had begun before the repeat."""
    return moment.astimezone(hours.zone).date() + _DAY


def business_elapsed(hours: BusinessHours | None, start: datetime, end: datetime) -> timedelta:
    """Business time from ``start`` to ``end`` (negative if ``end`` is earlier); at most ten years of it."""
    if hours is None or end <= start:
        return end - start  # a difference of two datetimes always fits in a timedelta
    start, end = _in_calendar(start), _in_calendar(end)
    if end - start > _LONGEST_COUNTED:
        start = end - _LONGEST_COUNTED
    total = timedelta()
    day = start.astimezone(hours.zone).date()
    last = _last_day_open_by(hours, end)
    while day <= last:
        span = hours._open_span(day)
        if span is not None:
            begin, finish = max(span[0], start), min(span[1], end)
            if finish > begin:
                total += finish - begin
        day += _DAY
    return total


def status(policy: SlaPolicy, mention: Mention, now: datetime) -> SlaStatus:
    tier = policy.tier_for(mention.priority)
    hours = policy.business_hours
    due = add_business_time(hours, mention.created_at, tier.target)
    if mention.first_response_at is not None:
        took = business_elapsed(hours, mention.created_at, mention.first_response_at)
        return SlaStatus(tier, due, SlaState.MET if mention.first_response_at <= due else SlaState.MISSED, took)
    if now >= due:
        return SlaStatus(tier, due, SlaState.OVERDUE, -business_elapsed(hours, due, now))
    left = business_elapsed(hours, now, due)
    state = SlaState.AT_RISK if left <= tier.target * policy.warn_fraction else SlaState.ON_TRACK
    return SlaStatus(tier, due, state, left)


def breaching_cutoffs(policy: SlaPolicy, now: datetime) -> tuple[SlaCutoff, ...]:
    """Per tier, the newest creation time that is at risk or overdue by ``now`` (for the queue view)."""
    cutoffs = []
    upper: float | None = None
    for i, tier in enumerate(policy.tiers):
        lowest = i == len(policy.tiers) - 1
        spent = tier.target * (1 - policy.warn_fraction)
        cutoffs.append(SlaCutoff(None if lowest else tier.min_priority, upper,
                                 subtract_business_time(policy.business_hours, now, spent)))
        upper = tier.min_priority
    return tuple(cutoffs)


@dataclass(frozen=True)
class ResponseStats:
    responded: int
    average: timedelta | None
    p90: timedelta | None


def _percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile: the smallest value with at least ``fraction`` of values at or below it."""
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[rank - 1]


def response_stats(durations: Iterable[timedelta]) -> ResponseStats:
    return response_stats_of_seconds(sorted(d.total_seconds() for d in durations))


def response_stats_of_seconds(seconds: Sequence[float]) -> ResponseStats:
    """:func:`response_stats` of durations already in seconds, sorted ascending."""
    if not seconds:
        return ResponseStats(0, None, None)
    return ResponseStats(len(seconds), timedelta(seconds=sum(seconds) / len(seconds)),
                         timedelta(seconds=_percentile(seconds, 0.9)))


def team_first_response(session: Session, policy: SlaPolicy, since: datetime, until: datetime) -> ResponseStats:
    """Average and 90th-percentile first-response time (business time) of mentions answered in the window."""
    rows = session.execute(
        select(Mention.created_at, Mention.first_response_at)
        .where(Mention.first_response_at >= since, Mention.first_response_at < until)
    )
    return response_stats(business_elapsed(policy.business_hours, created, answered) for created, answered in rows)


__all__ = ["BusinessHours", "ResponseStats", "SlaPolicy", "SlaState", "SlaStatus", "SlaTier", "add_business_time",
           "breaching_cutoffs", "business_elapsed", "response_stats", "response_stats_of_seconds", "status", "subtract_business_time",
           "team_first_response"]
