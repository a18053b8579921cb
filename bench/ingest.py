"""Ingest throughput: mentions/s through `ingest_page` vs row-by-row ORM inserts, same run.

    python bench/ingest.py                      # SQLite, plus PostgreSQL if MENTIONDESK_TEST_POSTGRES_URL is set
    python bench/ingest.py --count 100000 --baseline-count 20000 --postgres-url postgresql+psycopg://...

Both paths de-duplicate by (platform, external_id) and store the same rows; the baseline does it
the obvious way (look up, add, commit per mention). Rates are per second, so the ratio is fair
even though the baseline runs on fewer mentions to keep the run short.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parents[1])  # the repo, not bench/: bench/queue.py would shadow the stdlib

from sqlalchemy import select  # noqa: E402

from bench._cli import positive_int  # noqa: E402
from connectors.base import FetchResult, Mention as FetchedMention  # noqa: E402
from monitor.config import Config  # noqa: E402
from monitor.ingest import ingest_page, normalise, sync_brands  # noqa: E402
from monitor.models import Mention, utcnow  # noqa: E402
from monitor.storage import Database  # noqa: E402
from tests.scratch_postgres import scratch_schema  # noqa: E402

T0 = datetime(2026, 11, 1, tzinfo=timezone.utc)
CONFIG = Config.from_dict({"brands": [{"name": "Acme", "keywords": ["acme"]}], "connectors": {"sample": {}}}, env={})


def synthetic(start: int, count: int) -> list[FetchedMention]:
    return [
        FetchedMention(platform="sample", external_id=f"bench-{n}", text=f"@acme order {n} is late again, help please",
                       created_at=T0 + timedelta(seconds=n), url=f"https://example.invalid/{n}", author_handle=f"user{n % 5000}",
                       author_name="A Customer", author_followers=n % 10_000, lang="en", thread_id=str(n), replyable=True,
                       raw={"id": str(n), "public_metrics": {"like_count": n % 7}})
        for n in range(start, start + count)
    ]


def bench_pipeline(db: Database, count: int, page_size: int) -> float:
    query_id = sync_brands(db, CONFIG.brands, {"sample": CONFIG.queries_for("sample")})[("sample", "acme")]
    pages = [synthetic(start, min(page_size, count - start)) for start in range(0, count, page_size)]
    began = time.perf_counter()
    for i, page in enumerate(pages):
        # Every page repeats the previous page's last 5 mentions: real platforms re-deliver.
        redelivered = pages[i - 1][-5:] if i else []
        ingest_page(db, connector="sample", query_id=query_id, result=FetchResult(redelivered + page, next_cursor=str(i)))
    return count / (time.perf_counter() - began)


def store_row_by_row(db: Database, mentions: list[FetchedMention]) -> float:
    """The baseline, the obvious way: each mention looked up by (platform, external_id) and added if new, a
    transaction each. Returns mentions/s."""
    rows = [normalise(m, brand_id=None, query_id=None, fetched_at=utcnow()) for m in mentions]
    began = time.perf_counter()
    for row in rows:
        with db.write() as session:
            exists = session.scalar(select(Mention.id).where(Mention.platform == row["platform"],
                                                             Mention.external_id == row["external_id"]))
            if exists is None:
                session.add(Mention(**row))
    return len(rows) / (time.perf_counter() - began)


def bench_row_by_row(db: Database, count: int) -> float:
    return store_row_by_row(db, synthetic(10**9, count))


def run(label: str, url: str, count: int, baseline_count: int, page_size: int) -> None:
    db = Database.open(url)
    db.upgrade()
    ours = bench_pipeline(db, count, page_size)
    baseline = bench_row_by_row(db, baseline_count)
    with db.read() as session:
        stored = len(session.scalars(select(Mention.id)).all())
    assert stored == count + baseline_count, f"expected {count + baseline_count} rows, found {stored}"
    print(f"{label:<10} ingest_page: {ours:>9,.0f} mentions/s ({count:,} in pages of {page_size}) | "
          f"row-by-row ORM: {baseline:>7,.0f} mentions/s ({baseline_count:,}) | ratio {ours / baseline:5.1f}x")
    db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=positive_int, default=100_000)
    parser.add_argument("--baseline-count", type=positive_int, default=10_000)
    parser.add_argument("--page-size", type=positive_int, default=100,
                        help="mentions per fetched page (X and Reddit max: 100)")
    parser.add_argument("--postgres-url", default=os.environ.get("MENTIONDESK_TEST_POSTGRES_URL"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run("sqlite", f"sqlite:///{tmp}/bench.db", args.count, args.baseline_count, args.page_size)
    if args.postgres_url:
        with scratch_schema(args.postgres_url, "bench") as url:
            run("postgresql", url, args.count, args.baseline_count, args.page_size)
    else:
        print("postgresql: skipped (pass --postgres-url or set MENTIONDESK_TEST_POSTGRES_URL)")


if __name__ == "__main__":
    main()
