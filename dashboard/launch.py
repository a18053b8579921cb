"""Start the dashboard as a ``streamlit run`` subprocess (used by ``mentiondesk dashboard`` and the demo)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

APP = Path(__file__).with_name("app.py")


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
