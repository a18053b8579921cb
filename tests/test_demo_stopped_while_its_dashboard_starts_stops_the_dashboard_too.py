"""SIGTERM or SIGINT to `mentiondesk demo` while its dashboard is starting stops the dashboard too, and the demo
exits 0. Until 2026-12-07 the demo took note of stop signals only once its dashboard answered (Streamlit takes seconds
to start, and is waited for up to a minute): SIGTERM before that ended the demo outright, and the dashboard went on
holding its port, so every later demo stopped with "port 8501 ... is already in use".

The real command in its own process, without the sentiment model; it is told to stop as soon as its dashboard process
exists, Streamlit still starting, so the test takes seconds."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fault_tools import wait_until
from tests.test_dashboard_stops_with_its_command import REPO, _children, _free_port, _running

# The demo as `mentiondesk demo` runs it, with no sentiment model to load (as under sentiment backend "none").
DEMO_WITHOUT_THE_MODEL = """
import monitor.pipeline
from monitor.cli import main
monitor.pipeline.MentionClassifier.load = lambda *args, **kwargs: None
main()
"""


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_signal_while_the_dashboard_starts_stops_it_too(tmp_path: Path, stop_signal: signal.Signals) -> None:
    log = tmp_path / "demo.log"
    with log.open("wb") as out:
        demo = subprocess.Popen([sys.executable, "-c", DEMO_WITHOUT_THE_MODEL, "demo", "--home", str(tmp_path / "demo"),
                                 "--port", str(_free_port())], cwd=REPO, stdout=out, stderr=subprocess.STDOUT)
    dashboard = None
    try:
        dashboard = wait_until(lambda: next(iter(_children(demo.pid)), None), 60, "the dashboard to start")
        demo.send_signal(stop_signal)
        status = demo.wait(30)
        wait_until(lambda: not _running(dashboard), 15, "the dashboard to stop")
        assert status == 0, log.read_text(encoding="utf-8")
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()
        if dashboard is not None and _running(dashboard):
            os.kill(dashboard, signal.SIGKILL)
