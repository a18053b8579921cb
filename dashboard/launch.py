"""Start the dashboard as a ``streamlit run`` subprocess (used by ``mentiondesk dashboard`` and the demo)."""

from __future__ import annotations

import errno
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from monitor.errors import MentiondeskError

APP = Path(__file__).with_name("app.py")
# How long the dashboard has to stop on its own before it is killed.
STOP_SECONDS = 10.0
# How often `run` looks whether the dashboard has ended or this process was told to stop.
CHECK_SECONDS = 0.25
# How long a starting dashboard is waited for before its URL is printed anyway (Streamlit imports take seconds).
START_SECONDS = 60.0


class DashboardPortUnavailable(MentiondeskError):
    """The dashboard's port cannot be listened on: Streamlit would print that and exit, leaving no dashboard."""


class DashboardNotStarted(MentiondeskError):
    """The dashboard process ended before it served its port."""


def check_port_free(host: str, port: int) -> None:
    """Raise DashboardPortUnavailable unless the dashboard could listen on ``host:port`` now.

    Bound as Streamlit binds it (SO_REUSEADDR but on Windows): a port another program listens on is refused, one
    a closed connection left in TIME_WAIT is not.
    """
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        with socket.socket(family, kind, proto) as probe:
            if os.name != "nt":
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(address)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise DashboardPortUnavailable(f"port {port} on {host} is already in use by another program; "
                                           f"give the dashboard another one with --port") from None
        raise DashboardPortUnavailable(f"the dashboard cannot listen on {host}:{port}: {exc.strerror or exc}") from None


def _answers(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=CHECK_SECONDS).close()
    except OSError:
        return False
    return True


def wait_until_serving(process: subprocess.Popen[bytes], host: str, port: int, *, timeout: float = START_SECONDS,
                       stopping: Callable[[], bool] = lambda: False) -> None:
    """Return once the dashboard that `launch` started answers on ``host:port``, ``stopping()`` is true or
    ``timeout`` has passed (still starting: its URL works once it is up); raise DashboardNotStarted if it ended
    first (Streamlit prints why: the port taken since `check_port_free`, say)."""
    deadline = time.monotonic() + timeout
    while process.poll() is None:
        if stopping() or time.monotonic() > deadline or _answers(host, port):
            return
        time.sleep(CHECK_SECONDS)
    raise DashboardNotStarted(f"the dashboard (Streamlit) stopped with exit status {process.returncode} before it "
                              f"served http://{host}:{port}; its own message is above")


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
    cut `launch` short after the dashboard started, leaving it running and out of reach. The caller checks the
    port first (`check_port_free`, before it prints the address); a dashboard that ends before serving it raises
    DashboardNotStarted."""
    requested: list[int] = []
    previous = {sig: signal.signal(sig, lambda signum, _frame: requested.append(signum))
                for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        process = launch(config_path, port, host=host)
        wait_until_serving(process, host, port, stopping=lambda: bool(requested))
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
