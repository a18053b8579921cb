"""`mentiondesk demo` and `mentiondesk dashboard` stop with one clear line when the dashboard's port is taken: the
demo printed the dashboard's URL and sign-in, went on without one (its alerts linking to whatever held the port) and
exited 0, while Streamlit's "Port N is not available" scrolled by. A dashboard that ends before serving its port is
an error too. The local alert receiver, on a taken port, says so in one line instead of a traceback."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.cli import cli

pytest.importorskip("streamlit", reason="the dashboard needs streamlit: pip install 'mentiondesk[dashboard]'")

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port another program listens on."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]


def _config(tmp_path: Path) -> Path:
    config = tmp_path / "mentiondesk.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "mentiondesk.db"}"\n[sentiment]\nbackend = "none"\n'
                      '[[brands]]\nname = "Acme"\nkeywords = ["acme"]\n[connectors.sample]\n', encoding="utf-8")
    return config


def test_the_demo_stops_before_it_starts_anything(tmp_path: Path, taken_port: int) -> None:
    home = tmp_path / "demo"
    result = CliRunner().invoke(cli, ["demo", "--home", str(home), "--port", str(taken_port), "--max-seconds", "0"])
    assert result.exit_code == 1, result.output
    assert (f"Error: port {taken_port} on 127.0.0.1 is already in use by another program; give the dashboard "
            f"another one with --port") in result.output
    assert "dashboard:" not in result.output and "password" not in result.output
    assert not home.exists()  # no config, database or demo user written


def test_the_dashboard_command_says_its_port_is_taken(tmp_path: Path, taken_port: int) -> None:
    result = CliRunner().invoke(cli, ["--config", str(_config(tmp_path)), "dashboard", "--port", str(taken_port)])
    assert result.exit_code == 1, result.output
    assert f"Error: port {taken_port} on 127.0.0.1 is already in use" in result.output
    assert "Traceback" not in result.output


def test_a_dashboard_that_ends_before_serving_its_port_is_an_error(tmp_path: Path) -> None:
    from dashboard.launch import DashboardNotStarted, launch, stop, wait_until_serving

    # Taken after any check, as by another program in between: bound, so Streamlit cannot have it, but not
    # listening, so nothing answers there while Streamlit tries.
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        port = holder.getsockname()[1]
        process = launch(_config(tmp_path), port)
        try:
            with pytest.raises(DashboardNotStarted, match=rf"stopped with exit status 1 before it served "
                                                          rf"http://127.0.0.1:{port}"):
                wait_until_serving(process, "127.0.0.1", port, timeout=120)
        finally:
            if process.poll() is None:
                stop(process)


def test_the_alert_receiver_says_its_port_is_taken(taken_port: int) -> None:
    result = subprocess.run([sys.executable, "-m", "monitor.alerts.receiver", "--port", str(taken_port)], cwd=REPO,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stderr == (f"error: cannot listen on 127.0.0.1:{taken_port}: Address already in use; "
                             f"pick another with --port\n")
