"""Spike detection: the last window's count against the same window on each of the past days.

Comparing with the same local time of day (in ``[alerts].timezone``) absorbs the daily rhythm: a
busy lunchtime is not a spike, nor is the day the clocks change. Past days before the brand's record
begins (see :func:`record_start`) are left out (no data is not zero mentions), and nothing is decided
until :data:`MIN_BASELINE_DAYS` days are covered.

A spike needs all three: at least ``min_count`` items (a quiet brand does not page on three posts),
``min_ratio`` times the baseline mean, and a z-score of ``min_zscore``, where the spread is at
least Poisson noise (√mean, and 1) so a perfectly flat baseline does not make every extra post
significant.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from monitor.alerts.settings import SpikeRule
from monitor.models import Brand, Mention
from monitor.queue import effective_sentiment

# Past days a spike decision needs (or all of a shorter `baseline_days`): with one or two, an ordinary
# day-to-day swing (±20 % in bench/spikes.py) or a slow first day would decide it.
MIN_BASELINE_DAYS = 3


@dataclass(frozen=True)
class Spike:
    current: int
    baseline_mean: float
    zscore: float


def detect(current: int, baseline: Sequence[int], rule: SpikeRule) -> Spike | None:
    if current < rule.min_count or len(baseline) < min(rule.baseline_days, MIN_BASELINE_DAYS):
        return None
    mean = statistics.fmean(baseline)
    spread = max(statistics.pstdev(baseline) if len(baseline) > 1 else 0.0, math.sqrt(mean), 1.0)
    zscore = (current - mean) / spread
    if current < rule.min_ratio * mean or zscore < rule.min_zscore:
        return None
    return Spike(current, mean, zscore)


@dataclass(frozen=True)
class WindowCounts:
    total: int
    negative: int


def window_counts(session: Session, brand_id: int, end: datetime, window: timedelta) -> WindowCounts:
    """Mentions of a brand posted in [end - window, end), and how many of them are negative (a person's
    relabel wins over the model, as in the queue, urgent alerts and analytics)."""
    negative = func.sum(case((effective_sentiment() == "negative", 1), else_=0))
    total, neg = session.execute(
        select(func.count(), negative).where(
            Mention.brand_id == brand_id, Mention.created_at >= end - window, Mention.created_at < end
        )
    ).one()
    return WindowCounts(int(total or 0), int(neg or 0))


def record_start(session: Session, brand: Brand) -> datetime:
    """Since when the brand has data: when it was added, or its oldest imported mention if older (history brought
    in by `mentiondesk import`, stored with no query). A poll's first page may reach back weeks on a quiet source
    (Reddit, HN, a feed): one old post says nothing of the days since, which would count as zero mentions."""
    # Only the mentions older than the brand are read: the index on (brand, posted) finds them without the rest.
    first = session.scalar(select(func.min(Mention.created_at)).where(
        Mention.brand_id == brand.id, Mention.created_at < brand.created_at, Mention.query_id.is_(None)))
    return first if first is not None else brand.created_at


def recent_and_baseline(
    session: Session, brand: Brand, now: datetime, window: timedelta, days: int, zone: ZoneInfo
) -> tuple[WindowCounts, list[WindowCounts]]:
    """The last window's counts, and the same local-time window's on each of the past ``days`` days the
    brand's record covers (fewer on its first days)."""
    current = window_counts(session, brand.id, now, window)
    since = record_start(session, brand)
    local = now.astimezone(zone)
    # Wall-clock arithmetic: the same local time d days ago, whatever clock change happened since.
    ends = [(local - timedelta(days=d)).astimezone(timezone.utc) for d in range(1, days + 1)]
    return current, [window_counts(session, brand.id, end, window) for end in ends if end - window >= since]
