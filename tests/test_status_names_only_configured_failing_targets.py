"""`mentiondesk status` (and the Alerts page) report as failing only the chat targets the config still has: a
target renamed or taken out while its alert waited to retry was shown FAILING for good until 2026-12-07."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.alerts.models import AlertEvent
from monitor.cli import cli
from monitor.storage import Database


def test_a_removed_targets_retrying_alert_is_not_reported_failing(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    db_path = tmp_path / "status.db"
    config = tmp_path / "mentiondesk.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{db_path}"\n[[brands]]\nname = "Acme"\nkeywords = ["acme"]\n'
                      '[sentiment]\nbackend = "none"\n[connectors.sample]\n[[alerts.targets]]\nname = "care"\n',
                      encoding="utf-8")
    monkeypatch.setenv("MENTIONDESK_ALERT_CARE_URL", "json://127.0.0.1:9/hook")
    db = Database.open(f"sqlite:///{db_path}")
    db.upgrade()
    with db.write() as session:  # each waits to retry after its chat answered 500
        for name in ("old-slack", "care"):
            session.add(AlertEvent(rule="urgent", target=name, status="pending", dedupe_key=f"urgent:{name}",
                                   attempts=1, error="HTTP 500 from the target"))
    db.dispose()
    runner = CliRunner()
    text = runner.invoke(cli, ["--config", str(config), "status"])
    assert text.exit_code == 0, text.output
    [failing] = [line for line in text.output.splitlines() if "FAILING targets" in line]
    assert failing.endswith("FAILING targets: care")  # the old target's alert is still listed among recent ones
    as_json = json.loads(runner.invoke(cli, ["--config", str(config), "status", "--json"]).output)
    assert as_json["alerts"]["failing_targets"] == ["care"]
