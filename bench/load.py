"""Sustained load through 1, 2 and 4 `mentiondesk run` workers on PostgreSQL, against the X emulator.

    python bench/load.py --postgres-url postgresql+psycopg://postgres@127.0.0.1:5432/test             # 10 min each
    python bench/load.py --short                                                                        # CI: 45 s each
    python bench/load.py --workers 4 --seconds 180 --rate 10                                            # one case

``--workers``: comma-separated worker counts, run one after another (default 1,2,4); ``--seconds``:
load time per count (default 600, at least 20); ``--rate``: posts/s published (default 10); ``--short``: 45 s
each. The URL defaults to ``MENTIONDESK_TEST_POSTGRES_URL``; ``MENTIONDESK_MODEL_DIR`` (default a
temp folder) keeps the converted model between runs.

For each worker count: a fresh schema, the emulator publishing ``--rate`` posts/s about the demo
brand, N real worker processes polling every second and classifying with the bundled model. Then
publishing stops, the workers drain, and the run reports mentions/s stored and classified, the
delay from publish to stored (p50/p95), each worker's RSS (at the start, after warm-up, at the end,
its peak) and lost or duplicate mentions checked against the emulator's own record of every post it
served. Stopped early (an error, SIGTERM, Ctrl-C), it stops its workers and removes its folder and schema.
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

from bench._cli import number, positive_ints  # noqa: E402
from connectors.emulators import DEMO_SECRETS, DEMO_X_HANDLE, start_emulators  # noqa: E402
from monitor.models import Mention  # noqa: E402
from monitor.storage import Database  # noqa: E402
from tests.scratch_postgres import scratch_schema  # noqa: E402


RSS_SAMPLE_SECONDS = 5.0
# Growth is measured from the first RSS sample at or after a quarter of the run: a shorter run has none.
MIN_SECONDS = 4 * RSS_SAMPLE_SECONDS
# Stopped early, the workers get this long to stop on SIGTERM before they are killed.
STOP_GRACE_SECONDS = 10.0


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] if len(values) >= 2 else float("nan")


def stop_workers(procs: list[subprocess.Popen], grace_seconds: float) -> None:
    """SIGTERM to each worker still running, SIGKILL to any not gone `grace_seconds` later: none may outlive
    the bench (each holds the model, ~450 MB, and polls on)."""
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace_seconds
    for p in procs:
        try:
            p.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def run(workers: int, seconds: float, rate: float, base_url: str, model_dir: Path) -> None:
    with scratch_schema(base_url, "load") as url:
        published: dict[str, float] = {}
        stop = threading.Event()
        procs: list[subprocess.Popen] = []
        with (start_emulators(seed=11, backlog=0, x_rate_limit=10**9) as emulators,
              tempfile.TemporaryDirectory() as tmp):
            try:
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
                logs = [Path(tmp) / f"worker-{n}.log" for n in range(workers)]
                # Each worker's log to a file: a pipe nobody reads would stall a worker once it filled.
                for log in logs:
                    with log.open("w") as stderr:
                        procs.append(subprocess.Popen([sys.executable, "-m", "monitor", "--config", str(config), "run"],
                                                      env=env, stdout=subprocess.DEVNULL, stderr=stderr))
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
                # run, after that warm-up, to the end (MIN_SECONDS: a sample falls after the quarter).
                samples: list[tuple[float, list[float]]] = []
                while (elapsed := time.time() - began) < seconds:
                    for log, p in zip(logs, procs):
                        if p.poll() is not None:
                            sys.exit(f"a worker stopped on its own (exit status {p.returncode}); the end of its "
                                     f"log:\n{log.read_text(errors='replace')[-3000:]}")
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
                # The end reading counts too: the last sample may be up to RSS_SAMPLE_SECONDS before the drain.
                rss_peak = [max(max(rss[i] for _, rss in samples), rss_end[i]) for i in range(workers)]
                stop_workers(procs, 150)
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
                      f"peak {[round(r) for r in rss_peak]} "
                      f"(growth after warm-up max {max((e - s) / s for s, e in zip(rss_warm, rss_end)):+.1%}); "
                      f"served {len(served)}, lost {len(served - stored_ids)}, duplicates {total - len(stored_ids)}",
                      flush=True)
                db.dispose()
            finally:
                # Stopped early (an error, SIGTERM, Ctrl-C): the workers go before their folder and schema do.
                stop.set()
                stop_workers(procs, STOP_GRACE_SECONDS)


def exit_on_sigterm(signum: int, _frame: object) -> None:
    """SIGTERM (a CI timeout, `kill`) as an exit, so the clean-up runs: workers stopped, folder and schema removed."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second one must not cut that clean-up short
    sys.exit(128 + signum)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres-url", default=os.environ.get("MENTIONDESK_TEST_POSTGRES_URL"))
    parser.add_argument("--workers", type=positive_ints, default="1,2,4", help="comma-separated worker counts")
    parser.add_argument("--seconds", type=number(MIN_SECONDS, kind=float), default=600.0,
                        help=f"load time per worker count (at least {MIN_SECONDS:g})")
    parser.add_argument("--rate", type=number(1, kind=float), default=10.0,
                        help="posts per second published (at least 1)")
    parser.add_argument("--short", action="store_true", help="45 s per worker count (for CI)")
    args = parser.parse_args()
    if not args.postgres_url:
        sys.exit("needs PostgreSQL: --postgres-url or MENTIONDESK_TEST_POSTGRES_URL")
    signal.signal(signal.SIGTERM, exit_on_sigterm)
    model_dir = Path(os.environ.get("MENTIONDESK_MODEL_DIR") or Path(tempfile.gettempdir()) / "mentiondesk-bench-models")
    print(f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} CPUs", flush=True)
    for n in args.workers:
        run(n, 45.0 if args.short else args.seconds, args.rate, args.postgres_url, model_dir)


if __name__ == "__main__":
    main()
