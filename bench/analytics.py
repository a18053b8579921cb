"""Analytics page latency at a million mentions: every figure of the page, p50/p95.

    .venv/bin/python bench/analytics.py [--rows 1000000] [--days 28] [--db FILE] [--postgres-url URL] [--sqlite-only]

Builds the mentions as bench/queue.py does (a year of them), plus human relabels and spike alerts,
then times ``monitor.analytics.build_report`` (what the page runs) for the last ``--days`` days, and a
full page run in Streamlit's AppTest. The baseline, in the same run, computes the trend figures the
naive way: load the range's mentions into Python and count there. Goal: page p95 < 2 s.
``--db FILE`` keeps the SQLite database between runs: built once, into FILE.partial, renamed to FILE
only when finished, with its ``--rows`` recorded in it; a FILE of another row count, or not built to the
end by this bench, is refused (never timed, never changed). PostgreSQL runs when ``--postgres-url`` or
MENTIONDESK_TEST_POSTGRES_URL is set (in a scratch schema).
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import os
import random
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[0] = str(ROOT)  # bench/queue.py must not shadow the stdlib queue

from sqlalchemy import func, insert, select, text, update  # noqa: E402

from bench import _timing  # noqa: E402
from bench._cli import number, positive_int  # noqa: E402
from dashboard.context import TOKEN_KEY  # noqa: E402
from monitor import analytics  # noqa: E402
from monitor.access import Role  # noqa: E402
from monitor.alerts.models import AlertEvent  # noqa: E402
from monitor.models import Mention  # noqa: E402
from monitor.sla import SlaPolicy  # noqa: E402
from monitor.storage import Database  # noqa: E402
from tests.scratch_postgres import scratch_schema  # noqa: E402
from tests.test_dashboard_fixtures import session_token  # noqa: E402 - the tests' sign-in helper

_spec = importlib.util.spec_from_file_location("bench_queue", ROOT / "bench" / "queue.py")
assert _spec is not None and _spec.loader is not None
bench_queue = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_queue)
NOW = bench_queue.NOW
REPEATS = 10
# Where a kept database (--db) records the --rows it was built with: SQLite's spare header field.
ROWS_PRAGMA = "user_version"
MAX_ROWS = 2**31 - 1  # what that field holds


def build(db: Database, rows: int) -> float:
    started = time.perf_counter()
    bench_queue.build(db, rows)
    rng = random.Random(2)
    with db.engine.begin() as conn:
        # ~2 % relabelled by people, and a spike alert now and then.
        for start in range(1, rows + 1, 50):
            conn.execute(update(Mention).where(Mention.id == start)
                         .values(human_sentiment_label=rng.choice(("negative", "neutral", "positive"))))
        conn.execute(insert(AlertEvent), [
            {"rule": "negative_spike", "brand_id": 1, "target": "slack", "status": "sent", "dedupe_key": f"s{d}",
             "created_at": NOW - timedelta(days=d, hours=3), "mention_ids": [], "details": {}, "attempts": 0}
            for d in range(0, 365, 9)])
        conn.execute(text("ANALYZE"))
    return time.perf_counter() - started


def build_reporting(label: str, db: Database, rows: int) -> None:
    print(f"\n== {label}: building {rows:,} mentions …", flush=True)
    print(f"built in {build(db, rows):.1f} s", flush=True)


def recorded_rows(path: Path) -> int | None:
    """The --rows a kept database was built with; None for a file this bench did not build to the end
    (no count recorded: stopped part-way by an older version of it, or not its database at all)."""
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            rows = conn.execute(f"PRAGMA {ROWS_PRAGMA}").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error:
        return None
    return rows or None


def kept_database(path: Path, rows: int) -> Database:
    """The SQLite database kept at `path` (--db), built with `rows` mentions where it does not exist yet.
    Built into `path`.partial and renamed when finished, so a build stopped part-way (Ctrl-C) never
    passes for one; a file that holds another row count, or no recorded one, is refused untouched."""
    if path.exists():
        built = recorded_rows(path)
        if built is None:
            sys.exit(f"{path} is not a database this bench built to the end (no row count recorded in it): "
                     "delete it to build it anew, or give --db another file")
        if built != rows:
            sys.exit(f"{path} holds the {built:,} mentions of an earlier build, not --rows {rows:,}: pass "
                     f"--rows {built} to time it, or delete it to build it anew")
        print(f"\n== SQLite: reusing {path} ({rows:,} mentions)", flush=True)
        db = Database.open(f"sqlite:///{path.resolve()}")
        db.upgrade()
        return db
    partial = path.with_name(path.name + ".partial")
    partial_files = [partial, *(partial.with_name(partial.name + side) for side in ("-wal", "-shm", "-journal"))]
    for leftover in partial_files:
        leftover.unlink(missing_ok=True)  # of a build killed part-way
    db = Database.open(f"sqlite:///{partial.resolve()}")
    try:
        db.upgrade()
        build_reporting("SQLite", db, rows)
        with db.engine.begin() as conn:
            conn.exec_driver_sql(f"PRAGMA {ROWS_PRAGMA} = {rows:d}")
    except BaseException:  # Ctrl-C too: what was built so far is of no use, and may be large
        db.dispose()
        for leftover in partial_files:
            leftover.unlink(missing_ok=True)
        raise
    db.dispose()  # the last connection folds the write-ahead log into the file, which then holds it all
    partial.replace(path)
    return Database.open(f"sqlite:///{path.resolve()}")


timed = functools.partial(_timing.timed, repeats=REPEATS)


def naive(db: Database, filters: analytics.QueueFilters) -> None:
    """The baseline: every mention of the range as an ORM object, counted in Python."""
    with db.read() as session:
        mentions = list(session.scalars(select(Mention).where(Mention.created_at >= filters.since,
                                                              Mention.created_at < filters.until)))
    Counter((m.created_at.date(), m.platform) for m in mentions)
    Counter((m.created_at.date(), m.human_sentiment_label or m.sentiment_label) for m in mentions)
    Counter(m.human_intent or m.intent for m in mentions)
    Counter(m.lang for m in mentions)


def viewer_session(db_url: str) -> str:
    """A signed-in session for a viewer (the page shows nothing but the sign-in form without one)."""
    db = Database.open(db_url)
    try:
        return session_token(db, "bench-viewer", Role.VIEWER)
    finally:
        db.dispose()


def page_run(db_url: str, tmp: Path) -> Callable[[], object]:
    """A full AppTest run of the page against this database (config written to ``tmp``)."""
    import tomli_w
    from streamlit.testing.v1 import AppTest

    config = tmp / "bench.toml"
    config.write_text(tomli_w.dumps({
        "database": {"url": db_url},
        "brands": [{"name": "B0", "keywords": ["b0"]}, {"name": "B1", "keywords": ["b1"]}, {"name": "B2", "keywords": ["b2"]}],
        "connectors": {"sample": {}},
    }), encoding="utf-8")
    os.environ["MENTIONDESK_CONFIG"] = str(config)
    os.environ["MENTIONDESK_ANALYTICS_NOW"] = NOW.isoformat()
    token = viewer_session(db_url)

    def run() -> object:
        app = AppTest.from_file(str(ROOT / "dashboard" / "pages" / "analytics.py"), default_timeout=60)
        app.session_state[TOKEN_KEY] = token
        app.run()
        assert not app.exception, app.exception
        return app
    return run


def run(label: str, db: Database, days: int, tmp: Path) -> None:
    filters = analytics.scope(NOW - timedelta(days=days), NOW)
    policy = SlaPolicy()
    with db.read() as session:
        in_range = session.scalar(select(func.count()).where(Mention.created_at >= filters.since))
    print(f"range: last {days} days, {in_range:,} mentions")
    results: list[tuple[str, float, float]] = []

    def figure(name: str, fn: Callable[..., object]) -> None:
        def once() -> object:
            with db.read() as session:
                return fn(session)
        results.append((name, *timed(once)))

    figure("volume by platform", lambda s: analytics.volume(s, filters, "day"))
    figure("sentiment trend + spikes", lambda s: (analytics.sentiment_trend(s, filters, "day"), analytics.spike_marks(s, filters)))
    figure("intent + language mix", lambda s: (analytics.intent_mix(s, filters), analytics.language_mix(s, filters)))
    figure("top authors", lambda s: analytics.top_authors(s, filters))
    figure("top complaint terms", lambda s: analytics.top_terms(s, filters))
    figure("share of voice", lambda s: analytics.share_of_voice(s, filters, (1, 2, 3)))
    figure("response times + SLA", lambda s: analytics.response_report(s, policy, filters, NOW))
    figure("backlog age", lambda s: analytics.backlog_age(s, filters, NOW))
    figure("week over week", lambda s: analytics.week_over_week(s, policy, filters, NOW, NOW))
    figure("model agreement", lambda s: analytics.agreement_by_language(s, filters))
    figure("build_report (all figures)", lambda s: analytics.build_report(s, policy, filters, NOW, (1, 2, 3), (3,)))
    results.append(("naive trends (baseline)", *timed(lambda: naive(db, filters), repeats=3)))
    if label == "SQLite" or os.environ.get("BENCH_PAGE_PG"):
        results.append(("page, full AppTest run", *timed(page_run(db.engine.url.render_as_string(hide_password=False), tmp))))
    print(f"{'figure':32} {'p50 ms':>8} {'p95 ms':>8}")
    for name, p50, p95 in results:
        flag = "  > 2 s" if p95 > 2000 and "baseline" not in name else ""
        print(f"{name:32} {p50:8.1f} {p95:8.1f}{flag}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=number(1, MAX_ROWS), default=1_000_000)
    parser.add_argument("--days", type=positive_int, default=28)
    parser.add_argument("--db", type=Path, help="SQLite file to keep (and reuse when it holds a build of --rows)")
    parser.add_argument("--postgres-url", default=os.environ.get("MENTIONDESK_TEST_POSTGRES_URL"))
    parser.add_argument("--sqlite-only", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.db:
            db = kept_database(args.db, args.rows)
        else:
            db = Database.open(f"sqlite:///{Path(tmp) / 'bench.db'}")
            db.upgrade()
            build_reporting("SQLite", db, args.rows)
        run("SQLite", db, args.days, Path(tmp))
        db.dispose()
        if args.postgres_url and not args.sqlite_only:
            with scratch_schema(args.postgres_url, "bench") as url:
                db = Database.open(url)
                db.upgrade()
                build_reporting("PostgreSQL", db, args.rows)
                run("PostgreSQL", db, args.days, Path(tmp))
                db.dispose()


if __name__ == "__main__":
    main()
