"""Kill a real `mentiondesk poll --once` mid-poll, then poll again: nothing lost, nothing doubled."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import func, select

from monitor.models import Mention, PollLease, utcnow
from monitor.storage import Database

PER_BRAND = 40
LEASE_SECONDS = 2
BRANDS = ("acme", "globex")


def write_config(path: Path, database_url: str, delay: float) -> None:
    path.write_text(
        "".join(f'[[brands]]\nname = "{b}"\nkeywords = ["{b}"]\n' for b in BRANDS)
        + f'[database]\nurl = "{database_url}"\n'
        + '[sentiment]\nbackend = "none"\n'
        + f"[connectors.sample]\ntotal_per_query = {PER_BRAND}\npage_size = 4\ndelay_seconds = {delay}\n"
        # A killed worker's poll leases expire after timeout_seconds (on PostgreSQL, where other
        # workers may be alive; the SQLite worker lock tells a lone worker it may take over at once).
        + f"timeout_seconds = {LEASE_SECONDS}\n"
    )


def poll(config: Path, home: Path) -> subprocess.Popen:
    env = {**os.environ, "MENTIONDESK_HOME": str(home)}
    return subprocess.Popen([sys.executable, "-m", "monitor", "--config", str(config), "poll", "--once"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def counts(db: Database) -> tuple[int, int]:
    with db.read() as session:
        total = session.scalar(select(func.count()).select_from(Mention)) or 0
        distinct = session.scalar(select(func.count(func.distinct(Mention.external_id)))) or 0
    return total, distinct


def wait_for_leases_to_expire(db: Database) -> None:
    """Until the killed poll's leases ran out (timeout_seconds after its last page began), when the next
    poll may take its queries over: no longer than that, rather than a fixed LEASE_SECONDS after the kill."""
    with db.read() as session:
        last = session.scalar(select(func.max(PollLease.expires_at)).where(PollLease.owner.is_not(None)))
    if last is not None:
        time.sleep(max(0.0, (last - utcnow()).total_seconds()) + 0.05)


def test_killed_poll_loses_nothing_and_doubles_nothing(db: Database, tmp_path: Path) -> None:
    url = db.engine.url.render_as_string(hide_password=False)
    config = tmp_path / "mentiondesk.toml"
    write_config(config, url, delay=0.15)
    seen_before_kill = []
    for kill_after_new in (1, 9, 17):
        proc = poll(config, tmp_path / "home")
        before = counts(db)[0]
        deadline = time.monotonic() + 60
        while counts(db)[0] < before + kill_after_new and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        assert proc.returncode == -signal.SIGKILL, "the poll finished before it could be killed"
        seen_before_kill.append(counts(db)[0])
        if not db.is_sqlite:
            wait_for_leases_to_expire(db)
    assert 0 < seen_before_kill[-1] < PER_BRAND * len(BRANDS)

    write_config(config, url, delay=0)
    finish = poll(config, tmp_path / "home")
    out, err = finish.communicate(timeout=120)
    assert finish.returncode == 0, out + err
    total, distinct = counts(db)
    assert total == distinct == PER_BRAND * len(BRANDS)
    with db.read() as session:
        ids = set(session.scalars(select(Mention.external_id)))
    assert ids == {f"{b}:{n}" for b in BRANDS for n in range(PER_BRAND)}
