"""Sustained load through 1, 2 and 4 `mentiondesk run` workers on PostgreSQL, against the X emulator.

    python bench/load.py --postgres-url postgresql+psycopg://postgres@127.0.0.1:5432/test             # 10 min each
    python bench/load.py --short                                                                        # CI: 45 s each
    python bench/load.py --workers 4 --seconds 180 --rate 10                                            # one case

``--workers``: comma-separated worker counts, run one after another (default 1,2,4); ``--seconds``:
load time per count (default 600); ``--rate``: posts/s published (default 10); ``--short``: 45 s
each. The URL defaults to ``MENTIONDESK_TEST_POSTGRES_URL``; ``MENTIONDESK_MODEL_DIR`` (default a
temp folder) keeps the converted model between runs.

For each worker count: a fresh schema, the emulator publishing ``--rate`` posts/s about the demo
brand, N real worker processes polling every second and classifying with the bundled model. Then
publishing stops, the workers drain, and the run reports mentions/s stored and classified, the
delay from publish to stored (p50/p95), each worker's RSS (at the start, after warm-up, at the end,
its peak) and lost or duplicate mentions checked against the emulator's own record of every post it
served.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parents[1])  # the repo, not bench/: bench/queue.py would shadow the stdlib

import tomli_w  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from connectors.emulators import DEMO_SECRETS, DEMO_X_HANDLE, start_emulators  # noqa: E402
from monitor.models import Mention  # noqa: E402
from monitor.storage import Database  # noqa: E402
from tests.scratch_postgres import scratch_schema  # noqa: E402


RSS_SAMPLE_SECONDS = 5.0


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] if len(values) >= 2 else float("nan")


def run(workers: int, seconds: float, rate: float, base_url: str, model_dir: Path) -> None:
    with scratch_schema(base_url, "load") as url:
        published: dict[str, float] = {}
        stop = threading.Event()
        try:
            with (start_emulators(seed=11, backlog=0, x_rate_limit=10**9) as emulators,
                  tempfile.TemporaryDirectory() as tmp):
                config = Path(tmp) / "mentiondesk.toml"
                config.write_text(tomli_w.dumps({
                    "database": {"url": url},
                    "brands": [{"name": "Orbisto", "keywords": ["Orbisto"], "handles": {"x": DEMO_X_HANDLE}}],
                    "connectors": {"x": {"api_base_url": emulators.x_url, "poll_interval_seconds": 1.0,
                                         "max_pages_per_poll": 50, "timeout_seconds": 30}},
                }))
                db = Database.open(url)
                db.upgrade()
                env = {**os.environ, "MENTIONDESK_HOME": tmp, "MENTIONDESK_MODEL_DIR": str(model_dir),
                       **{f"MENTIONDESK_X_{k.upper()}": v for k, v in DEMO_SECRETS["x"].items()}}
                procs = [subprocess.Popen([sys.executable, "-m", "monitor", "--config", str(config), "run"], env=env,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
                         for _ in range(workers)]
                time.sleep(10)  # model load

                def publish() -> None:
                    tick = 0.1
                    owed = 0.0
                    while not stop.wait(tick):
                        owed += rate * tick
                        count, owed = int(owed), owed - int(owed)
                        now = time.time()
                        for post_id in emulators.x.add_posts(count):
                            published[post_id] = now

                publisher = threading.Thread(target=publish, daemon=True)
                began = time.time()
                publisher.start()
                # RSS every few seconds. Workers may still be loading the model well after the 10 s
                # above (several of them on few cores), so growth is measured from a quarter into the
                # run, after that warm-up, to the end.
                samples: list[tuple[float, list[float]]] = []
                while (elapsed := time.time() - began) < seconds:
                    samples.append((elapsed, [rss_mb(p.pid) for p in procs]))
                    time.sleep(min(RSS_SAMPLE_SECONDS, seconds - elapsed))
                rss_first = samples[0][1]
                rss_warm = next(rss for at, rss in samples if at >= seconds / 4)
                stop.set()
                publisher.join()
                ran = time.time() - began
                deadline = time.time() + 120
                while time.time() < deadline:
                    with db.read() as session:
                        stored = set(session.scalars(select(Mention.external_id)))
                        pending = session.scalar(select(func.count()).where(Mention.classified_at.is_(None)))
                    wanted = {i for i in emulators.x.served_ids if not emulators.x.is_retweet(i)}
                    if wanted <= stored and not pending:
                        break
                    time.sleep(1)
                rss_end = [rss_mb(p.pid) for p in procs]
                for p in procs:
                    p.send_signal(signal.SIGTERM)
                for p in procs:
                    p.wait(150)
                with db.read() as session:
                    rows = session.execute(select(Mention.external_id, Mention.fetched_at, Mention.classified_at)).all()
                    total = session.scalar(select(func.count()).select_from(Mention))
                # The connector drops retweets on purpose (exclude_retweets); everything else served must be stored.
                served = {i for i in emulators.x.served_ids if not emulators.x.is_retweet(i)}
                stored_ids = {r.external_id for r in rows}
                delays = [r.fetched_at.timestamp() - published[r.external_id]
                          for r in rows if r.external_id in published]
                classified = [r for r in rows if r.classified_at is not None]
                print(f"{workers} worker(s), {ran:.0f} s at {rate:g} posts/s published: "
                      f"{len(rows) / ran:,.1f} mentions/s stored, {len(classified) / ran:,.1f}/s classified; "
                      f"publish→stored p50 {statistics.median(delays):.2f} s, p95 {percentile(delays, 95):.2f} s; "
                      f"RSS MB at 0 s {[round(r) for r in rss_first]}, after warm-up ({seconds / 4:.0f} s) "
                      f"{[round(r) for r in rss_warm]}, end {[round(r) for r in rss_end]}, "
                      f"peak {[round(max(rss[i] for _, rss in samples)) for i in range(workers)]} "
                      f"(growth after warm-up max {max((e - s) / s for s, e in zip(rss_warm, rss_end)):+.1%}); "
                      f"served {len(served)}, lost {len(served - stored_ids)}, duplicates {total - len(stored_ids)}",
                      flush=True)
                db.dispose()
        finally:
            stop.set()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres-url", default=os.environ.get("MENTIONDESK_TEST_POSTGRES_URL"))
    parser.add_argument("--workers", default="1,2,4", help="comma-separated worker counts")
    parser.add_argument("--seconds", type=float, default=600.0, help="load time per worker count")
    parser.add_argument("--rate", type=float, default=10.0, help="posts per second published")
    parser.add_argument("--short", action="store_true", help="45 s per worker count (for CI)")
    args = parser.parse_args()
    if not args.postgres_url:
        sys.exit("needs PostgreSQL: --postgres-url or MENTIONDESK_TEST_POSTGRES_URL")
    model_dir = Path(os.environ.get("MENTIONDESK_MODEL_DIR") or Path(tempfile.gettempdir()) / "mentiondesk-bench-models")
    print(f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} CPUs", flush=True)
    for n in (int(w) for w in args.workers.split(",")):
        run(n, 45.0 if args.short else args.seconds, args.rate, args.postgres_url, model_dir)


if __name__ == "__main__":
    main()
