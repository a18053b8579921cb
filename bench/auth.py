"""What sign-in and the per-rerun session check cost, and how fast a password guesser is held back.

    .venv/bin/python bench/auth.py [--rounds 30] [--postgres-url URL]

Times, on a scratch SQLite file (and PostgreSQL when --postgres-url or MENTIONDESK_TEST_POSTGRES_URL
is set): ``users.sign_in`` (argon2id verify + session row) against a bare argon2 verify as its
baseline; ``users.resume`` (run on every dashboard rerun) against a bare primary-key read; and a
guesser's throughput: wrong guesses per second before the lock-out, and how many it gets in the
first hour against one name with the default policy (5 failures, then 30 s doubling to 15 min).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[0] = str(ROOT)  # bench/queue.py must not shadow the stdlib queue

from argon2 import PasswordHasher  # noqa: E402
from sqlalchemy import select  # noqa: E402

from bench._cli import positive_int  # noqa: E402
from monitor import users  # noqa: E402
from monitor.access import Role, local_operator  # noqa: E402
from monitor.models import User  # noqa: E402
from monitor.storage import Database  # noqa: E402
from monitor.users import AuthPolicy, SignInFailed, SignInLocked  # noqa: E402
from tests.scratch_postgres import scratch_schema  # noqa: E402

PASSWORD = "correct horse battery staple"


def _median_ms(fn: Callable[[], object], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def _guesses_in_first_hour(policy: AuthPolicy) -> int:
    """Wrong guesses one name allows in an hour when each comes the moment the last lock-out ends."""
    elapsed, guesses, failures = timedelta(0), 0, 0
    while elapsed < timedelta(hours=1):
        guesses += 1
        failures += 1
        if failures >= policy.max_failures:
            elapsed += min(policy.lockout * 2 ** (failures - policy.max_failures), policy.max_lockout)
    return guesses


def run(label: str, db: Database, rounds: int) -> None:
    users.add_user(db, local_operator(), "ana", Role.AGENT, PASSWORD)
    with db.read() as session:
        stored = session.scalar(select(User.password_hash).where(User.name == "ana"))
        user_id = session.scalar(select(User.id).where(User.name == "ana"))
    hasher = PasswordHasher()
    verify = _median_ms(lambda: hasher.verify(stored, PASSWORD), rounds)
    sign_in = _median_ms(lambda: users.sign_in(db, "ana", PASSWORD), rounds)
    token = users.sign_in(db, "ana", PASSWORD).token

    def bare_read() -> None:
        with db.read() as session:
            session.get(User, user_id)
            session.expunge_all()

    read = _median_ms(bare_read, rounds * 10)
    resume = _median_ms(lambda: users.resume(db, token), rounds * 10)

    guesses, start = 0, time.perf_counter()
    while True:
        try:
            users.sign_in(db, "ben", f"guess {guesses}")
        except SignInLocked:
            break
        except SignInFailed:
            guesses += 1
    per_guess = (time.perf_counter() - start) * 1000 / max(guesses, 1)
    print(f"{label}: sign_in {sign_in:.1f} ms (argon2 verify alone {verify:.1f} ms, ratio {sign_in / verify:.2f}); "
          f"resume {resume:.2f} ms per rerun (bare primary-key read {read:.2f} ms, ratio {resume / read:.2f}); "
          f"a wrong guess costs {per_guess:.1f} ms and the name locks after {guesses + 1} "
          f"(unthrottled, one process could try {3_600_000 / per_guess:,.0f} per hour)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=positive_int, default=30)
    parser.add_argument("--postgres-url", default=os.environ.get("MENTIONDESK_TEST_POSTGRES_URL"))
    args = parser.parse_args()
    policy = AuthPolicy()
    print(f"default policy: at most {_guesses_in_first_hour(policy)} guesses per name in the first hour")
    with tempfile.TemporaryDirectory() as tmp:
        db = Database.open(f"sqlite:///{Path(tmp) / 'auth.db'}")
        db.upgrade()
        run("sqlite", db, args.rounds)
        db.dispose()
    if args.postgres_url:
        with scratch_schema(args.postgres_url, "bench") as url:
            db = Database.open(url)
            db.upgrade()
            run("postgresql", db, args.rounds)
            db.dispose()


if __name__ == "__main__":
    main()
