"""SIGTERM or SIGINT to `mentiondesk dashboard` stops the Streamlit process it started, and the command exits 0, as
`mentiondesk run` does: SIGTERM (a supervisor's, `kill`) ended the command alone, and the dashboard went on serving
its port with nobody to stop it.

The real command in its own process; it is told to stop as soon as its dashboard process exists, which Streamlit
still starting, so the test takes seconds."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fault_tools import wait_until

pytest.importorskip("streamlit", reason="the dashboard needs streamlit: pip install 'mentiondesk[dashboard]'")

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="finds the child process in /proc")


def _children(pid: int) -> list[int]:
    try:
        return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except FileNotFoundError:  # it has ended
        return []


def _running(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"  # a zombie has ended, only not been waited for


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_signal_stops_the_dashboard_too(tmp_path: Path, stop_signal: signal.Signals) -> None:
    config = tmp_path / "mentiondesk.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "mentiondesk.db"}"\n[sentiment]\nbackend = "none"\n'
                      '[[brands]]\nname = "Acme"\nkeywords = ["acme"]\n[connectors.sample]\n', encoding="utf-8")
    command = subprocess.Popen([sys.executable, "-m", "monitor", "--config", str(config), "dashboard",
                                "--port", str(_free_port())], cwd=REPO, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    dashboard = None
    try:
        dashboard = wait_until(lambda: next(iter(_children(command.pid)), None), 60, "the dashboard to start")
        command.send_signal(stop_signal)
        status = command.wait(30)
        wait_until(lambda: not _running(dashboard), 15, "the dashboard to stop")
        assert status == 0
    finally:
        if command.poll() is None:
            command.kill()
            command.wait()
        if dashboard is not None and _running(dashboard):
            os.kill(dashboard, signal.SIGKILL)
