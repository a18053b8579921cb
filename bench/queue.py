"""Queue page latency at a million mentions: the default view and each single filter, p50/p95.

    .venv/bin/python bench/queue.py [--rows 1000000] [--postgres-url URL] [--sqlite-only]

Builds the mentions with chunked executemany (seconds, not minutes), then times
``monitor.queue.fetch_page`` (keyset pages) for the first page, a deep page, every single filter and
the saved views; the baseline is the same deep page fetched with OFFSET. The goal is p95 < 100 ms.
PostgreSQL runs when ``--postgres-url`` or MENTIONDESK_TEST_POSTGRES_URL is set (in a scratch schema).
"""

from __future__ import annotations

import argparse
import functools
import os
import random
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

# This file is named queue.py: replace its own folder on the path, or it would shadow the stdlib queue.
sys.path[0] = str(Path(__file__).resolve().parents[1])

from sqlalchemy import insert, text  # noqa: E402

from bench import _timing  # noqa: E402
from bench._cli import positive_int  # noqa: E402
from monitor import queue  # noqa: E402
from monitor.models import Brand, Mention, MentionTag  # noqa: E402
from monitor.queue import QueueFilters, Sort  # noqa: E402
from monitor.sla import SlaPolicy, breaching_cutoffs  # noqa: E402
from monitor.storage import Database  # noqa: E402
from tests.scratch_postgres import scratch_schema  # noqa: E402

NOW = datetime(2026, 11, 20, 12, tzinfo=timezone.utc)
STATUSES = ["new"] * 5 + ["open"] * 3 + ["pending"] * 2 + ["resolved"] * 80 + ["ignored"] * 7 + ["spam"] * 3
LANGS = ["en"] * 50 + ["es"] * 15 + ["fr"] * 10 + ["pt"] * 10 + ["de"] * 5 + ["hi"] * 5 + ["ar"] * 3 + ["km"] * 2
PLATFORMS = ["x"] * 60 + ["reddit"] * 35 + ["sample"] * 5
TEAM = [f"agent{i}" for i in range(10)]
WORDS = "order refund late app crash love great support delivery login price update help account slow".split()
TAGS = [f"tag{i}" for i in range(20)]
CHUNK = 20_000
REPEATS = 25


def build(db: Database, rows: int, seed: int = 1) -> float:
    rng = random.Random(seed)
    started = time.perf_counter()
    with db.engine.begin() as conn:
        conn.execute(insert(Brand.__table__), [{"key": f"b{i}", "name": f"Brand {i}", "created_at": NOW} for i in range(3)])
    brand_ids = [1, 1, 1, 1, 2, 2, 3]
    for start in range(0, rows, CHUNK):
        batch, tags = [], []
        for n in range(start, min(rows, start + CHUNK)):
            status = rng.choice(STATUSES)
            words = rng.choices(WORDS, k=8)
            if n % 50_000 == 7:
                words.append("zebrafish")  # a rare word for the free-text search
            created = NOW - timedelta(seconds=rng.randrange(365 * 86_400))
            batch.append({
                "id": n + 1, "brand_id": rng.choice(brand_ids), "platform": rng.choice(PLATFORMS),
                "external_id": str(n), "url": f"https://example.com/{n}", "author_handle": f"user{n % 50_000}",
                "author_name": None, "author_followers": rng.randrange(10_000), "text": " ".join(words),
                "lang": rng.choice(LANGS), "created_at": created, "fetched_at": created, "raw": {},
                "thread_id": None, "parent_id": None, "replyable": rng.random() < 0.5,
                "sentiment_label": rng.choice(("negative", "neutral", "positive")), "sentiment_score": rng.random(),
                "intent": rng.choice(("complaint", "question", "praise", "other")), "needs_response": False,
                "priority": None if rng.random() < 0.1 else round(rng.random() * 100, 2),
                "classified_at": created, "status": status,
                "assignee": rng.choice(TEAM) if rng.random() < 0.3 else None,
                "first_response_at": created + timedelta(minutes=30) if status in ("resolved", "pending") else None,
            })
            if rng.random() < 0.05:
                tags.append({"mention_id": n + 1, "tag": rng.choice(TAGS)})
        with db.engine.begin() as conn:
            conn.execute(insert(Mention.__table__), batch)
            if tags:
                conn.execute(insert(MentionTag.__table__), tags)
    with db.engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    return time.perf_counter() - started


timed = functools.partial(_timing.timed, repeats=REPEATS)


def cases() -> dict[str, QueueFilters]:
    since = NOW - timedelta(days=7)
    return {
        "default view (open work)": QueueFilters(),
        "brand": QueueFilters(brand_ids=(3,)),
        "platform": QueueFilters(platforms=("reddit",)),
        "sentiment": QueueFilters(sentiments=("negative",)),
        "intent": QueueFilters(intents=("complaint",)),
        "status = resolved": QueueFilters(statuses=("resolved",)),
        "assignee": QueueFilters(assignee="agent3"),
        "unassigned": QueueFilters(unassigned=True),
        "language (es)": QueueFilters(langs=("es",)),
        "language (rare: km)": QueueFilters(langs=("km",)),
        "tag": QueueFilters(tags=("tag7",)),
        "date range (7 days)": QueueFilters(since=since, until=NOW),
        "free text (common)": QueueFilters(text="refund"),
        "free text (rare)": QueueFilters(text="zebrafish"),
        "free text (~3 %: two words)": QueueFilters(text="login price"),
        "free text (author handle)": QueueFilters(text="USER123"),
        "free text (2 chars, newest 20,000)": QueueFilters(text="zq"),
        "view: my open complaints": QueueFilters(assignee="agent3", intents=("complaint",)),
        "view: breaching SLA": QueueFilters(sla_cutoffs=breaching_cutoffs(SlaPolicy(), NOW)),
    }


def run(label: str, db: Database, rows: int) -> None:
    print(f"\n== {label}: building {rows:,} mentions …", flush=True)
    print(f"built in {build(db, rows):.1f} s")
    results: list[tuple[str, float, float]] = []
    with db.read() as session:
        for name, filters in cases().items():
            results.append((name, *timed(lambda: queue.fetch_page(session, filters, Sort.URGENT))))
        results.append(("newest first", *timed(lambda: queue.fetch_page(session, QueueFilters(), Sort.NEWEST))))
        # A deep page: follow 40 cursors (page 41 of 25), then time fetching it by keyset and by OFFSET.
        cursor = None
        for _ in range(40):
            cursor = queue.fetch_page(session, QueueFilters(), Sort.URGENT, after=cursor, limit=25).next_cursor
        results.append(("page 41, keyset", *timed(lambda: queue.fetch_page(session, QueueFilters(), after=cursor, limit=25))))
        base = queue.filtered(session, QueueFilters()).order_by(Mention.priority.desc(), Mention.created_at.desc(), Mention.id.desc())
        results.append(("page 41, OFFSET (baseline)", *timed(lambda: list(session.scalars(base.offset(1000).limit(25))))))
        deep = base.offset(20_000).limit(25)
        results.append(("page 801, OFFSET (baseline)", *timed(lambda: list(session.scalars(deep)))))
        results.append(("count, capped at 10,000", *timed(lambda: queue.count(session, QueueFilters()))))
    print(f"{'query':32} {'p50 ms':>8} {'p95 ms':>8}")
    for name, p50, p95 in results:
        flag = "" if p95 < 100 or "baseline" in name else "  > 100 ms"
        print(f"{name:32} {p50:8.1f} {p95:8.1f}{flag}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=positive_int, default=1_000_000)
    parser.add_argument("--postgres-url", default=os.environ.get("MENTIONDESK_TEST_POSTGRES_URL"))
    parser.add_argument("--sqlite-only", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Database.open(f"sqlite:///{Path(tmp) / 'bench.db'}")
        db.upgrade()
        run("SQLite", db, args.rows)
        db.dispose()
    if args.postgres_url and not args.sqlite_only:
        with scratch_schema(args.postgres_url, "bench") as url:
            db = Database.open(url)
            db.upgrade()
            run("PostgreSQL", db, args.rows)
            db.dispose()


if __name__ == "__main__":
    main()
