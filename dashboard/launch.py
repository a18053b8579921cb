"""Start the dashboard as a ``streamlit run`` subprocess (used by ``mentiondesk dashboard`` and the demo)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

APP = Path(__file__).with_name("app.py")
# How long the dashboard has to stop on its own before it is killed.
STOP_SECONDS = 10.0
# How often `run` looks whether the dashboard has ended or this process was told to stop.
CHECK_SECONDS = 0.25


def launch(config_path: Path, port: int, headless: bool = True, *, host: str = "127.0.0.1",
           env: Mapping[str, str] | None = None) -> subprocess.Popen[bytes]:
    """Run the dashboard on ``host:port`` for the config at ``config_path``; the caller stops it.

    The config path travels in ``MENTIONDESK_CONFIG``; connector secrets come from the environment
    as usual (``env`` entries are added to this process's environment).
    """
    child_env = {**os.environ, **(env or {}), "MENTIONDESK_CONFIG": str(Path(config_path).resolve())}
    command = [
        sys.executable, "-m", "streamlit", "run", str(APP),
        "--server.address", host, "--server.port", str(port),
        "--server.headless", "true" if headless else "false",
        "--server.fileWatcherType", "none",
        "--browser.gatherUsageStats", "false",
        "--theme.base", "light",
        "--client.toolbarMode", "minimal",
    ]
    return subprocess.Popen(command, env=child_env)


def run(config_path: Path, port: int, *, host: str = "127.0.0.1") -> int:
    """``mentiondesk dashboard``: the dashboard in the foreground, until it ends (its exit status) or SIGINT or
    SIGTERM to this process stops it (0, as for ``mentiondesk run``): SIGTERM ended this process alone, and the
    dashboard went on serving its port. The handlers, set before it starts, only take note: one that raised could
    cut `launch` short after the dashboard started, leaving it running and out of reach."""
    requested: list[int] = []
    previous = {sig: signal.signal(sig, lambda signum, _frame: requested.append(signum))
                for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        process = launch(config_path, port, host=host)
        while not requested and process.poll() is None:
            time.sleep(CHECK_SECONDS)
        if not requested:
            return process.returncode
        stop(process)
        return 0
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def stop(process: subprocess.Popen[bytes]) -> None:
    """Ask the dashboard to stop (SIGTERM), and kill it if it has not within STOP_SECONDS."""
    process.terminate()
    try:
        process.wait(STOP_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
