"""bench/analytics.py --db FILE times FILE only when it holds a finished build of --rows mentions: any existing
file was reused, so a build stopped by Ctrl-C (a database of no mentions) was timed as if it held a million,
and --rows was ignored. The build goes into FILE.partial, renamed when finished, with the row count in it."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bench import analytics as analytics_bench
from monitor.models import Mention
from monitor.storage import Database

REPO = Path(__file__).resolve().parents[1]


def _bench(*args: str) -> subprocess.Popen[str]:
    env = {name: value for name, value in os.environ.items() if name != "MENTIONDESK_TEST_POSTGRES_URL"}
    return subprocess.Popen([sys.executable, "bench/analytics.py", "--sqlite-only", *args], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _rows_recorded(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("PRAGMA user_version").fetchone()[0]
    finally:
        conn.close()


def test_a_database_not_built_to_the_end_is_refused_untouched(tmp_path: Path) -> None:
    kept = tmp_path / "kept.db"
    db = Database.open(f"sqlite:///{kept}")  # the schema and no mentions: what a build stopped early left
    db.upgrade()
    db.dispose()
    before = kept.read_bytes()
    bench = _bench("--rows", "1000", "--db", str(kept))
    _, stderr = bench.communicate(timeout=300)
    assert bench.returncode == 1, stderr
    assert f"{kept} is not a database this bench built to the end (no row count recorded in it)" in stderr
    assert kept.read_bytes() == before


def test_a_build_stopped_part_way_leaves_nothing_to_reuse(tmp_path: Path) -> None:
    kept = tmp_path / "kept.db"
    bench = _bench("--rows", "1000000", "--db", str(kept))
    try:
        deadline = time.monotonic() + 120
        while not list(tmp_path.glob("kept.db*")) and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1)  # into the build
        bench.send_signal(signal.SIGINT)
        bench.communicate(timeout=120)
    finally:
        if bench.poll() is None:
            bench.kill()
            bench.communicate()
    assert not list(tmp_path.glob("kept.db*"))


def test_a_finished_build_records_its_rows_and_another_count_is_refused(tmp_path: Path,
                                                                        capsys: pytest.CaptureFixture[str]) -> None:
    kept = tmp_path / "kept.db"
    analytics_bench.kept_database(kept, 500).dispose()
    assert _rows_recorded(kept) == 500 and [p.name for p in tmp_path.iterdir()] == ["kept.db"]
    with pytest.raises(SystemExit, match=f"{kept} holds the 500 mentions of an earlier build, not --rows 600: "
                                         "pass --rows 500 to time it, or delete it to build it anew"):
        analytics_bench.kept_database(kept, 600)
    db = analytics_bench.kept_database(kept, 500)
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(Mention)) == 500
    db.dispose()
    assert f"reusing {kept} (500 mentions)" in capsys.readouterr().out
