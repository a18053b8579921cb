"""A big prune on SQLite against a worker's writes: how long the prune takes, and how long a write waits for it.

    .venv/bin/python bench/retention.py [--mentions 200000] [--archive]

Builds a SQLite database of ``--mentions`` mentions fetched 100 days ago (a raw payload of about 1.3 KB each, as
the platforms send), then prunes it twice, each time from a fresh copy of it, while another process (as a worker
storing its pages) writes a mention every 50 ms: first with the prune as it was until 2026-12-07, each batch read,
archived and cleared in one write transaction that held SQLite's write lock, the next begun at once; then with
`prune_raw_payloads` as it is now. ``--archive`` archives the payloads too (to a file in the scratch folder).
Prints each prune's time, how many writes the other process got in, and the longest one waited.
"""

from __future__ import annotations

import argparse
import multiprocessing
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import IO

sys.path[0] = str(Path(__file__).resolve().parents[1])  # the repo, not bench/: bench/queue.py would shadow the stdlib

from sqlalchemy import insert, or_, select, update  # noqa: E402

from bench._cli import positive_int  # noqa: E402
from monitor.models import Mention, utcnow  # noqa: E402
from monitor.retention import _Archive, _kept, _reply_raw_keys, archive_lines, prune_raw_payloads  # noqa: E402
from monitor.storage import Database  # noqa: E402

PLATFORMS = ["mastodon", "bluesky", "reddit", "rss", "x", "hackernews"]
WRITE_EVERY = 0.05
BATCH = 1000


def build(path: Path, count: int) -> None:
    db = Database.open(f"sqlite:///{path}")
    db.upgrade()
    fetched = utcnow() - timedelta(days=100)
    for start in range(0, count, 5000):
        with db.write() as session:
            session.execute(insert(Mention), [
                {"platform": PLATFORMS[n % len(PLATFORMS)], "external_id": str(n), "text": f"acme is broken #{n}",
                 "created_at": fetched, "fetched_at": fetched,
                 "raw": {"id": str(n), "content": "acme " * 200, "account": {"name": f"u{n}", "bio": "b" * 200},
                         "visibility": "public", "uri": f"at://did:plc:{n}/app.bsky.feed.post/{n}"}}
                for n in range(start, min(count, start + 5000))])
    db.dispose()  # the last connection closed checkpoints the WAL into the file, which is copied as it is


def prune_holding_the_lock(db: Database, older_than: timedelta, archive: IO[str] | None = None) -> int:
    """The prune as it was until 2026-12-07 (its mentions; none here is set aside)."""
    archive_file = _Archive(archive) if archive is not None else None
    due = (Mention.fetched_at < utcnow() - older_than, Mention.raw_pruned_at.is_(None))
    with db.read() as session:
        keys, unknown = _reply_raw_keys(list(session.scalars(select(Mention.platform).where(*due).distinct())))
    prunable = or_(Mention.platform.in_(list(keys)), Mention.platform.in_(unknown) & Mention.query_id.is_(None))
    pruned = 0
    while True:
        with db.write() as session:
            rows = session.execute(select(Mention.id, Mention.platform, Mention.external_id, Mention.raw)
                                   .where(*due, prunable).order_by(Mention.id).limit(BATCH)).all()
            if not rows:
                return pruned
            if archive_file is not None:
                archive_file.append(archive_lines([(row.platform, row.external_id, row.raw) for row in rows]))
            now = utcnow()
            session.execute(update(Mention), [
                {"id": row.id, "raw": _kept(row.raw or {}, keys.get(row.platform, ())), "raw_pruned_at": now}
                for row in rows])
            pruned += len(rows)


def write_pages(path: Path, writing: Event, stop: Event, waits: multiprocessing.Queue) -> None:
    """A worker's writes: a mention every WRITE_EVERY seconds until ``stop``; puts how long each took."""
    db = Database.open(f"sqlite:///{path}")
    taken, n = [], 0
    while not stop.is_set():
        started = time.monotonic()
        with db.write() as session:
            session.add(Mention(platform="x", external_id=f"live-{n}", text="acme", created_at=utcnow()))
        taken.append(time.monotonic() - started)
        writing.set()
        n += 1
        time.sleep(WRITE_EVERY)
    db.dispose()
    waits.put(taken)


def run(name: str, prune: Callable[..., int], built: Path, folder: Path, archived: bool) -> tuple[float, float]:
    """Prune a copy of ``built`` with ``prune`` while the writer writes; the longest write wait and the prune's time."""
    path = folder / f"{name}.db"
    shutil.copyfile(built, path)
    db = Database.open(f"sqlite:///{path}")
    spawn = multiprocessing.get_context("spawn")
    writing, stop, waits = spawn.Event(), spawn.Event(), spawn.Queue()
    writer = spawn.Process(target=write_pages, args=(path, writing, stop, waits))
    writer.start()
    writing.wait()
    started = time.monotonic()
    if archived:
        with (folder / f"{name}.jsonl").open("a+", encoding="utf-8") as archive:
            pruned = prune(db, timedelta(days=90), archive)
    else:
        pruned = prune(db, timedelta(days=90))
    took = time.monotonic() - started
    stop.set()
    taken = waits.get()
    writer.join()
    db.dispose()
    taken.sort()
    print(f"{name:>22}: pruned {pruned} in {took:.1f}s; {len(taken)} writes, median "
          f"{statistics.median(taken) * 1000:.0f} ms, p99 {taken[int(0.99 * (len(taken) - 1))]:.2f}s, "
          f"longest {taken[-1]:.2f}s")
    return taken[-1], took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mentions", type=positive_int, default=200_000)
    parser.add_argument("--archive", action="store_true", help="archive the payloads too")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        built = folder / "built.db"
        build(built, args.mentions)
        old_wait, old_took = run("holding the lock (old)", prune_holding_the_lock, built, folder, args.archive)
        new_wait, new_took = run("now", prune_raw_payloads, built, folder, args.archive)
    print(f"longest write wait {old_wait / new_wait:.0f}x shorter; prune time {new_took / old_took:.2f}x the old")


if __name__ == "__main__":
    main()
