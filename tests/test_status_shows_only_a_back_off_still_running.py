"""`status` says a connector is "backing off until" a time only while that time is ahead: an error back-off runs
from the failed round's start, so after a slow round it may have ended before it was shown (until 2026-12-07
`status` said "backing off until 07:39:26" at 07:39:28, while the connector polled again)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from click.testing import CliRunner

from monitor.cli import cli
from monitor.models import ConnectorStatus, utcnow
from monitor.storage import Database


def test_a_back_off_is_shown_while_it_runs_and_not_once_it_ended(tmp_path: Path) -> None:
    db_path = tmp_path / "status.db"
    config = tmp_path / "mentiondesk.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{db_path}"\n[[brands]]\nname = "Acme"\nkeywords = ["acme"]\n'
                      '[sentiment]\nbackend = "none"\n[connectors.sample]\n', encoding="utf-8")
    db = Database.open(f"sqlite:///{db_path}")
    db.upgrade()

    def failed(backoff_until_from_now: timedelta) -> str:
        with db.write() as session:
            session.merge(ConnectorStatus(connector="sample", last_error="HTTP 503", last_error_at=utcnow(),
                                          consecutive_failures=2, backoff_until=utcnow() + backoff_until_from_now,
                                          backoff_reason="error"))
        result = CliRunner().invoke(cli, ["--config", str(config), "status"])
        assert result.exit_code == 0, result.output
        return result.output

    assert "backing off until" in failed(timedelta(minutes=5))
    ended = failed(-timedelta(seconds=2))
    assert "backing off until" not in ended and "2 in a row" in ended
    db.dispose()
