"""Poll throughput: mentions/s through poll → ingest for each connector against its local emulator.

    python bench/poll.py                   # 3000 new posts per platform, pages of 100, SQLite
    python bench/poll.py --posts 10000 --page-size 50

Each connector first polls once (its first poll only sets the cursors), then the emulator
publishes ``--posts`` new posts and one ``poll_once`` reads them all: real tweepy/praw clients over
local HTTP, JSON parsing, normalising and storing with de-duplication, one transaction per page.
The emulators' rate limits are raised so the figure is the pipeline's, not a quota's; against the
real APIs the quotas (X: 450 searches/15 min, Reddit: ~100 requests/min) bound it long before.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parents[1])  # the repo, not bench/: bench/queue.py would shadow the stdlib

from connectors.emulators import (  # noqa: E402
    DEMO_BRAND, DEMO_REDDIT_USERNAME, DEMO_SECRETS, DEMO_SUBREDDITS, DEMO_X_HANDLE, RunningEmulators, start_emulators,
)
from monitor.config import Config  # noqa: E402
from monitor.poller import poll_once  # noqa: E402
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


def run(connector: str, posts: int, page_size: int) -> tuple[int, int, float]:
    with tempfile.TemporaryDirectory() as tmp, start_emulators(seed=7, backlog=50, x_rate_limit=10**9) as running:
        db_url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        db = Database.open(db_url)
        db.upgrade()
        cfg = config(running, db_url, page_size, posts)
        poll_once(db, cfg, only=[connector])  # sets the cursors
        emulator = running.x if connector == "x" else running.reddit
        emulator.add_posts(posts)
        started = time.perf_counter()
        [report] = poll_once(db, cfg, only=[connector])
        elapsed = time.perf_counter() - started
        if not report.ok:
            raise SystemExit(f"{connector} poll failed: {report.error}")
        db.dispose()
        return report.stored, report.pages, elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--posts", type=int, default=3000, help="new posts per platform")
    parser.add_argument("--page-size", type=int, default=100)
    args = parser.parse_args()
    print(f"{'connector':<10}{'posts':>8}{'stored':>8}{'pages':>7}{'seconds':>9}{'mentions/s':>12}")
    for connector in ("x", "reddit"):
        stored, pages, elapsed = run(connector, args.posts, args.page_size)
        print(f"{connector:<10}{args.posts:>8}{stored:>8}{pages:>7}{elapsed:>9.2f}{stored / elapsed:>12.0f}")


if __name__ == "__main__":
    main()
