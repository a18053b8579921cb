"""What monitor's services log in the dashboard's process is written as the CLI writes it, one line a record: until
2026-12-07 the dashboard set no log format, so Python wrote a warning's bare message, and a platform's error text
with a line break in it ("bad token\\r\\n2026-12-08 … INFO …") started a forged line in the dashboard's log.

The dashboard page runs (Streamlit's AppTest) in a process of its own, which then logs as a service would."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("streamlit", reason="the dashboard needs streamlit: pip install 'mentiondesk[dashboard]'")

REPO = Path(__file__).resolve().parents[1]
FORGED = "2026-12-08 09:00:00,000 INFO monitor.alerts.delivery: alert 7 delivered to ops-chat"
API_ERROR = f"bad token\r\n{FORGED}"
APP = str(REPO / "dashboard" / "app.py")
_DASHBOARD_THEN_LOG = f"""
import logging
from streamlit.testing.v1 import AppTest
from connectors.base import ConnectorError

page = AppTest.from_file({APP!r}, default_timeout=60).run()
assert not page.exception, page.exception
log = logging.getLogger("monitor.alerts.delivery")
log.warning("alert %d to %s failed: %s", 7, "ops-chat", ConnectorError({API_ERROR!r}))
try:
    raise ConnectorError({API_ERROR!r})
except ConnectorError:
    log.exception("alert delivery to %s failed unexpectedly", "ops-chat")
"""


def test_the_dashboard_process_logs_one_line_a_record(tmp_path: Path) -> None:
    config = tmp_path / "mentiondesk.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "mentiondesk.db"}"\n[sentiment]\nbackend = "none"\n'
                      '[[brands]]\nname = "Acme"\nkeywords = ["acme"]\n[connectors.sample]\n', encoding="utf-8")
    run = subprocess.run([sys.executable, "-c", _DASHBOARD_THEN_LOG], capture_output=True, text=True, timeout=180,
                         cwd=REPO, env={**os.environ, "MENTIONDESK_CONFIG": str(config)})
    assert run.returncode == 0, run.stderr
    lines = run.stderr.splitlines()
    record = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} %s monitor\.alerts\.delivery: %s"
    assert any(re.fullmatch(record % ("WARNING", re.escape(f"alert 7 to ops-chat failed: bad token {FORGED}")), line)
               for line in lines), run.stderr
    assert any(re.fullmatch(record % ("ERROR", "alert delivery to ops-chat failed unexpectedly"), line)
               for line in lines), run.stderr
    assert f"connectors.base.ConnectorError: bad token {FORGED}" in lines
    assert not any(line.startswith(FORGED[:19]) for line in lines), run.stderr
