"""Spike detection on a synthetic stream with known injected spikes: precision, recall, delay.

Per-minute Poisson counts with a daily rhythm (busy afternoons, quiet nights) for a busy brand, a
second busy brand with no spikes, and a quiet brand (a few posts an hour, no spikes), run through
the same ``detect`` the engine uses, evaluated every minute like ``AlertEngine.tick`` with the
rule's cooldown. An alert is a true positive when it falls inside an injected spike or within one
window after it (the window still holds the spike's posts); a volume alert during a complaint wave
counts as true too (that wave adds mentions), though recall counts volume spikes only.

The baseline, on the same series: a fixed threshold per stream and rule, the rule's ``min_ratio`` times
the stream's mean window count over the warm-up days (at least ``min_count``), with the same window
and cooldown: what the engine's same-time-of-day history and z-score add over "alert at min_ratio
times the usual".

    .venv/bin/python bench/spikes.py [--days 28] [--seed 7]
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parents[1])  # the repo, not bench/: bench/queue.py would shadow the stdlib

from bench._cli import positive_int  # noqa: E402
from monitor.alerts.settings import Rules, SpikeRule  # noqa: E402
from monitor.alerts.spikes import detect  # noqa: E402

MINUTES_PER_DAY = 1440


@dataclass
class Stream:
    name: str
    total: list[int]
    negative: list[int]
    spikes: dict[str, list[tuple[int, int]]] = field(default_factory=lambda: {"volume_spike": [], "negative_spike": []})


def _poisson(rng: random.Random, lam: float) -> int:
    # Knuth's method; rates here are small per minute.
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def make_stream(name: str, days: int, per_hour: float, seed: int, spikes_per_kind: int, warmup_days: int,
                negative_share: float = 0.1, volume_factor: float = 5.0, negative_extra_per_hour: float = 40.0,
                spike_minutes: int = 45) -> Stream:
    """``per_hour`` is the daily mean; spikes start after ``warmup_days`` so each has a baseline."""
    rng = random.Random(seed)
    n = days * MINUTES_PER_DAY
    # Daily rhythm: 0.3× at 04:00, 1.7× at 16:00; plus ±20% day-to-day variation.
    day_level = [rng.uniform(0.8, 1.2) for _ in range(days)]
    rate = [per_hour / 60 * day_level[t // MINUTES_PER_DAY] * (1 + 0.7 * math.sin(2 * math.pi * ((t % MINUTES_PER_DAY) / 60 - 10) / 24))
            for t in range(n)]
    neg_rate = [r * negative_share for r in rate]
    stream = Stream(name, [0] * n, [0] * n)
    taken: list[tuple[int, int]] = []
    for kind in ("volume_spike", "negative_spike"):
        for _ in range(spikes_per_kind):
            while True:  # non-overlapping, with a day between spikes' effects
                start = rng.randrange(warmup_days * MINUTES_PER_DAY, n - 2 * spike_minutes)
                end = start + spike_minutes
                if all(end + 180 < s or start > e + 180 for s, e in taken):
                    break
            taken.append((start, end))
            stream.spikes[kind].append((start, end))
            for t in range(start, end):
                if kind == "volume_spike":
                    rate[t] *= volume_factor  # e.g. a viral post: more mentions, not more complaints
                else:
                    rate[t] += negative_extra_per_hour / 60
                    neg_rate[t] += negative_extra_per_hour / 60
    for t in range(n):
        neg = _poisson(rng, neg_rate[t])
        stream.negative[t] = neg
        stream.total[t] = neg + _poisson(rng, rate[t] - neg_rate[t])
    return stream


@dataclass
class Result:
    alerts: int = 0
    true_alerts: int = 0
    spikes: int = 0
    found: int = 0
    delays: list[int] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.true_alerts / self.alerts if self.alerts else 1.0

    @property
    def recall(self) -> float:
        return self.found / self.spikes if self.spikes else 1.0


# Whether to alert, given the count in the window just ended and those of the same window on each earlier day.
Detector = Callable[[int, list[int]], bool]


def windows(stream: Stream, kind: str, rule: SpikeRule) -> Callable[[int], int]:
    """The count of `kind`'s mentions in the rule's window ending at a minute."""
    counts = stream.negative if kind == "negative_spike" else stream.total
    prefix = [0]
    for c in counts:
        prefix.append(prefix[-1] + c)
    return lambda end: prefix[end] - prefix[max(0, end - rule.window_minutes)]


def fixed_threshold(stream: Stream, kind: str, rule: SpikeRule, warmup_minutes: int) -> int:
    """The baseline's threshold: `min_ratio` times the mean window count over the warm-up, at least `min_count`."""
    window = windows(stream, kind, rule)
    ends = range(rule.window_minutes, warmup_minutes + 1)
    return max(rule.min_count, math.ceil(rule.min_ratio * sum(map(window, ends)) / len(ends)))


def evaluate(stream: Stream, kind: str, rule: SpikeRule, from_minute: int, fires: Detector | None = None) -> Result:
    """`fires` (default: the engine's `detect` with `rule`) each minute from `from_minute`, with the rule's cooldown."""
    fires = fires or (lambda current, baseline: detect(current, baseline, rule) is not None)
    window = windows(stream, kind, rule)
    w = rule.window_minutes
    spikes = stream.spikes[kind]
    also_true = stream.spikes["negative_spike"] if kind == "volume_spike" else []
    result = Result(spikes=len(spikes))
    first_alert: dict[int, int] = {}
    last_alert = -10**9
    for now in range(from_minute, len(stream.total) + 1):
        baseline = [window(now - d * MINUTES_PER_DAY) for d in range(1, rule.baseline_days + 1)]
        if not fires(window(now), baseline) or now - last_alert < rule.cooldown_minutes:
            continue
        last_alert = now
        result.alerts += 1
        hit = next((i for i, (s, e) in enumerate(spikes) if s < now <= e + w), None)
        if hit is not None:
            first_alert.setdefault(hit, now)
        # A complaint wave also raises volume: a volume alert during it is right, though not counted for recall.
        if hit is not None or any(s < now <= e + w for s, e in also_true):
            result.true_alerts += 1
    result.found = len(first_alert)
    result.delays = [first_alert[i] - spikes[i][0] for i in sorted(first_alert)]
    return result


def warmup_days(rules: Rules) -> int:
    """Days before any spike: each rule's baseline days, and one more."""
    return max(rules.volume_spike.baseline_days, rules.negative_spike.baseline_days) + 1


def make_streams(days: int, seed: int, warmup: int) -> list[Stream]:
    return [
        make_stream("busy brand (60/h), spikes", days, 60, seed, spikes_per_kind=max(1, (days - warmup) // 2),
                    warmup_days=warmup),
        make_stream("busy brand (60/h), no spikes", days, 60, seed + 1, spikes_per_kind=0, warmup_days=warmup),
        make_stream("quiet brand (3/h), no spikes", days, 3, seed + 2, spikes_per_kind=0, warmup_days=warmup),
    ]


def run(days: int, seed: int, rules: Rules) -> dict[tuple[str, str], Result]:
    """The engine's rules on each stream, by (stream, rule)."""
    warmup = warmup_days(rules)
    return {
        (s.name, kind): evaluate(s, kind, getattr(rules, kind), warmup * MINUTES_PER_DAY)
        for s in make_streams(days, seed, warmup) for kind in ("volume_spike", "negative_spike")
    }


def compare(days: int, seed: int, rules: Rules) -> dict[tuple[str, str], tuple[Result, int, Result]]:
    """By (stream, rule): the engine's result, the baseline's fixed threshold and its result on the same series."""
    warmup = warmup_days(rules)
    results = {}
    for s in make_streams(days, seed, warmup):
        for kind in ("volume_spike", "negative_spike"):
            rule = getattr(rules, kind)
            threshold = fixed_threshold(s, kind, rule, warmup * MINUTES_PER_DAY)
            results[(s.name, kind)] = (
                evaluate(s, kind, rule, warmup * MINUTES_PER_DAY), threshold,
                evaluate(s, kind, rule, warmup * MINUTES_PER_DAY, lambda current, _, t=threshold: current >= t))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    rules = Rules()
    warmup = warmup_days(rules)
    parser.add_argument("--days", type=positive_int, default=28,
                        help=f"days per stream, more than the {warmup} of warm-up (the rules' baseline) before spikes")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    if args.days <= warmup:
        parser.error(f"argument --days: must be more than the {warmup} days of warm-up, got {args.days}")
    print(f"{args.days} days per stream, evaluated every minute; default rules:")
    for kind in ("volume_spike", "negative_spike"):
        print(f"  {kind}: {getattr(rules, kind).model_dump()}")
    print("\n| stream | rule | detector | spikes | alerts | precision | recall | delay median (min) "
          "| delay max (min) |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|")
    for (name, kind), (engine, threshold, fixed) in compare(args.days, args.seed, rules).items():
        fixed_name = f"fixed: ≥ {threshold} in {getattr(rules, kind).window_minutes:g} min"
        for detector, r in (("default rules", engine), (fixed_name, fixed)):
            delay_med = f"{statistics.median(r.delays):.0f}" if r.delays else "–"
            delay_max = f"{max(r.delays)}" if r.delays else "–"
            print(f"| {name} | {kind} | {detector} | {r.spikes} | {r.alerts} | {r.precision:.2f} | {r.recall:.2f} | "
                  f"{delay_med} | {delay_max} |")


if __name__ == "__main__":
    main()
