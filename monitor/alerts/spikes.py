"""Spike detection: the last window's count against the same window on each of the past days.

Comparing with the same time of day absorbs the daily rhythm (a busy lunchtime is not a spike).
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
from datetime import datetime, timedelta

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from monitor.alerts.settings import SpikeRule
from monitor.models import Mention


@dataclass(frozen=True)
class Spike:
    current: int
    baseline_mean: float
    zscore: float


def detect(current: int, baseline: Sequence[int], rule: SpikeRule) -> Spike | None:
    if current < rule.min_count:
        return None
    mean = statistics.fmean(baseline) if baseline else 0.0
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
    """Mentions of a brand posted in [end - window, end), and how many of them are negative."""
    negative = func.sum(case((Mention.sentiment_label == "negative", 1), else_=0))
    total, neg = session.execute(
        select(func.count(), negative).where(
            Mention.brand_id == brand_id, Mention.created_at >= end - window, Mention.created_at < end
        )
    ).one()
    return WindowCounts(int(total or 0), int(neg or 0))


def recent_and_baseline(
    session: Session, brand_id: int, now: datetime, window: timedelta, days: int
) -> tuple[WindowCounts, list[WindowCounts]]:
    current = window_counts(session, brand_id, now, window)
    baseline = [window_counts(session, brand_id, now - timedelta(days=d), window) for d in range(1, days + 1)]
    return current, baseline
