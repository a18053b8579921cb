"""bench/load.py stops the `mentiondesk run` workers it starts however it ends: stopped by SIGTERM (a CI timeout)
it left them running (each holding the model, ~450 MB, and polling on) and its temp folder behind, and so did
any error (`--seconds 3` died at its warm-up RSS sample). A worker that stops on its own ends the run with the end
of its log (it was read by no one). Bad option values are refused before anything starts."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.load import stop_workers
from tests.conftest import POSTGRES_ENV, POSTGRES_SKIP

REPO = Path(__file__).resolve().parents[1]
# Nothing listens there: were the bench to get past its options, it would stop at the database.
NO_SERVER = "postgresql+psycopg://postgres@127.0.0.1:1/none"


def _running(pid: int) -> bool:
    try:
        return "\tZ" not in Path(f"/proc/{pid}/status").read_text().split("State:", 1)[1][:3]
    except FileNotFoundError:
        return False


@pytest.mark.parametrize(("args", "refused"), [
    (["--workers", "two"], "--workers: not a whole number: 'two'"),
    (["--workers", "1,0"], "--workers: must be at least 1, got 0"),
    (["--seconds", "3"], "--seconds: must be at least 20, got 3"),
    (["--rate", "0"], "--rate: must be at least 1, got 0"),
])
def test_a_bad_value_is_a_usage_error_before_anything_starts(args: list[str], refused: str) -> None:
    result = subprocess.run([sys.executable, "bench/load.py", "--postgres-url", NO_SERVER, *args], cwd=REPO,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stderr
    assert f"load.py: error: argument {refused}" in result.stderr


def test_workers_that_do_not_stop_on_sigterm_are_killed_after_the_grace() -> None:
    stubborn = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print(flush=True); time.sleep(60)"
    procs = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
             for code in (stubborn, "import time; print(flush=True); time.sleep(60)")]
    try:
        for p in procs:
            p.stdout.readline()  # its SIGTERM handling is in place
        began = time.monotonic()
        stop_workers(procs, grace_seconds=1)
        assert time.monotonic() - began < 10
        assert [p.returncode for p in procs] == [-signal.SIGKILL, -signal.SIGTERM]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
            p.stdout.close()


@pytest.fixture
def base_url() -> str:
    """The test server itself: the bench makes its own scratch schema on it."""
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        pytest.skip(POSTGRES_SKIP)
    return url


@pytest.fixture
def model_built(base_url: str, model_cache: Path) -> None:
    """The model's caches built, as bench/sentiment.py builds them: a worker then loads it in its own process,
    with no builds in children of its own that a stop could leave behind."""
    code = "from sentiment import load_classifier; load_classifier(threads=2).embed(['warm-up'])"
    env = {**os.environ, "MENTIONDESK_MODEL_DIR": str(model_cache)}
    subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, check=True, capture_output=True, timeout=900)


def test_sigterm_stops_the_workers_and_removes_the_temp_folder(tmp_path: Path, base_url: str,
                                                              model_built: None) -> None:
    temp = tmp_path / "temp"
    temp.mkdir()
    bench = subprocess.Popen([sys.executable, "bench/load.py", "--postgres-url", base_url, "--workers", "2",
                              "--seconds", "60", "--rate", "1"], cwd=REPO, env={**os.environ, "TMPDIR": str(temp)},
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    workers: list[int] = []
    try:
        deadline = time.monotonic() + 120
        while len(workers) < 2 and time.monotonic() < deadline and bench.poll() is None:
            children = Path(f"/proc/{bench.pid}/task/{bench.pid}/children").read_text().split()
            workers = [int(pid) for pid in children if b"monitor" in Path(f"/proc/{pid}/cmdline").read_bytes()]
            time.sleep(0.2)
        assert len(workers) == 2, bench.stderr.read() if bench.poll() is not None else "no workers started"
        time.sleep(3)
        assert all(_running(pid) for pid in workers)
        bench.send_signal(signal.SIGTERM)
        bench.wait(60)
        assert not [pid for pid in workers if _running(pid)]
        assert not list(temp.iterdir())
        assert bench.returncode == 128 + signal.SIGTERM  # an exit, the clean-up done; not killed by the signal
    finally:
        if bench.poll() is None:
            bench.kill()
            bench.wait()
        for pid in workers:
            if _running(pid):
                os.kill(pid, signal.SIGKILL)


def test_a_worker_that_stops_on_its_own_ends_the_run_with_its_log(tmp_path: Path, base_url: str) -> None:
    blocked = tmp_path / "a-file"  # a model folder that cannot be made: the worker stops at once
    blocked.write_text("")
    temp = tmp_path / "temp"
    temp.mkdir()
    env = {**os.environ, "TMPDIR": str(temp), "MENTIONDESK_MODEL_DIR": str(blocked / "models")}
    result = subprocess.run([sys.executable, "bench/load.py", "--postgres-url", base_url, "--workers", "1",
                             "--seconds", "20"], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert "a worker stopped on its own (exit status 1); the end of its log:" in result.stderr
    assert f"cannot lock {blocked / 'models'}" in result.stderr
    assert not list(temp.iterdir())
