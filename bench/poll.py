"""Poll throughput: mentions/s through poll → ingest for each connector against its local emulator.

    python bench/poll.py                   # 3000 new posts per platform, pages of 100, SQLite
    python bench/poll.py --posts 10000 --page-size 50 --baseline-pages 10

Each connector first polls once (its first poll only sets the cursors), then the emulator
publishes ``--posts`` new posts and one ``poll_once`` reads them all: real tweepy/praw clients over
local HTTP, JSON parsing, normalising and storing with de-duplication, one transaction per page.
The emulators' rate limits are raised so the figure is the pipeline's, not a quota's; against the
real APIs the quotas (X: 450 searches/15 min, Reddit: ~100 requests/min) bound it long before.

Of that time, the store step (``ingest_page``: one transaction and de-duplicating insert per page) is
timed too, against the baseline in the same run: the first ``--baseline-pages`` of the very pages the
poll fetched, stored the obvious way (bench/ingest.py's row-by-row ORM inserts: look up, add, commit
per mention) into a fresh database. Both rates count the mentions fetched, so the ratio is fair even
though the baseline stores fewer to keep the run short.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parents[1])  # the repo, not bench/: bench/queue.py would shadow the stdlib

from bench._cli import number, positive_int  # noqa: E402
from bench.ingest import store_row_by_row  # noqa: E402
from connectors.base import FetchResult  # noqa: E402
from connectors.emulators import (  # noqa: E402
    DEMO_BRAND, DEMO_REDDIT_USERNAME, DEMO_SECRETS, DEMO_SUBREDDITS, DEMO_X_HANDLE, RunningEmulators, start_emulators,
)
from monitor import poller  # noqa: E402
from monitor.config import Config  # noqa: E402
from monitor.ingest import IngestResult, ingest_page  # noqa: E402
from monitor.storage import Database  # noqa: E402


def config(running: RunningEmulators, db_url: str, page_size: int, posts: int) -> Config:
    pages = posts // page_size + 5  # enough for one round to read everything
    env = {f"MENTIONDESK_{c.upper()}_{k.upper()}": v for c, values in DEMO_SECRETS.items() for k, v in values.items()}
    common = {"page_size": page_size, "max_pages_per_poll": pages * 3, "timeout_seconds": 600.0}
    return Config.from_dict(
        {
            "database": {"url": db_url},
            "brands": [{"name": DEMO_BRAND, "keywords": [DEMO_BRAND],
                        "handles": {"x": DEMO_X_HANDLE, "reddit": DEMO_REDDIT_USERNAME}}],
            "connectors": {
                "x": {"api_base_url": running.x_url, **common},
                "reddit": {"oauth_url": running.reddit_url, "reddit_url": running.reddit_url,
                           "comment_subreddits": DEMO_SUBREDDITS, **common},
            },
        },
        env=env,
    )


@dataclass
class Figures:
    stored: int
    pages: int
    seconds: float  # the whole poll
    ingest_rate: float  # mentions fetched per second through ingest_page, within the poll
    baseline_rate: float  # mentions fetched per second stored row by row, on the first pages


def run(connector: str, posts: int, page_size: int, baseline_pages: int) -> Figures:
    with tempfile.TemporaryDirectory() as tmp, start_emulators(seed=7, backlog=50, x_rate_limit=10**9) as running:
        db_url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        db = Database.open(db_url)
        db.upgrade()
        cfg = config(running, db_url, page_size, posts)
        poller.poll_once(db, cfg, only=[connector])  # sets the cursors
        emulator = running.x if connector == "x" else running.reddit
        emulator.add_posts(posts)
        fetched: list[FetchResult] = []
        ingest_seconds = 0.0

        def timed_ingest_page(*args: object, result: FetchResult, **kwargs: object) -> IngestResult:
            nonlocal ingest_seconds
            fetched.append(result)
            began = time.perf_counter()
            try:
                return ingest_page(*args, result=result, **kwargs)  # type: ignore[arg-type]
            finally:
                ingest_seconds += time.perf_counter() - began

        poller.ingest_page = timed_ingest_page  # what poll_once stores each page with
        try:
            started = time.perf_counter()
            [report] = poller.poll_once(db, cfg, only=[connector])
            elapsed = time.perf_counter() - started
        finally:
            poller.ingest_page = ingest_page
        if not report.ok:
            raise SystemExit(f"{connector} poll failed: {report.error}")
        db.dispose()
        baseline_db = Database.open(f"sqlite:///{Path(tmp) / 'baseline.db'}")
        baseline_db.upgrade()
        baseline_rate = store_row_by_row(baseline_db, [m for page in fetched[:baseline_pages] for m in page.mentions])
        baseline_db.dispose()
        ingest_rate = sum(len(page.mentions) for page in fetched) / ingest_seconds
        return Figures(report.stored, report.pages, elapsed, ingest_rate, baseline_rate)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--posts", type=positive_int, default=3000, help="new posts per platform")
    parser.add_argument("--page-size", type=number(10, 100), default=100,
                        help="mentions per page, 10 to 100 (what both connectors take)")
    parser.add_argument("--baseline-pages", type=positive_int, default=5,
                        help="of the fetched pages, how many the baseline stores row by row")
    args = parser.parse_args()
    print(f"{'connector':<10}{'posts':>8}{'stored':>8}{'pages':>7}{'seconds':>9}{'mentions/s':>12}"
          f"{'ingest_page/s':>15}{'row-by-row/s':>14}{'ratio':>7}")
    for connector in ("x", "reddit"):
        f = run(connector, args.posts, args.page_size, args.baseline_pages)
        print(f"{connector:<10}{args.posts:>8}{f.stored:>8}{f.pages:>7}{f.seconds:>9.2f}{f.stored / f.seconds:>12.0f}"
              f"{f.ingest_rate:>15.0f}{f.baseline_rate:>14.0f}"
              + (f"{f.ingest_rate / f.baseline_rate:>6.1f}x" if f.baseline_rate else f"{'–':>7}"))  # none fetched
    print(f"ingest_page/s: the poll's store step alone; row-by-row/s: the baseline, the first {args.baseline_pages} "
          "of the same pages stored one mention a transaction; both in mentions fetched per second")


if __name__ == "__main__":
    main()
