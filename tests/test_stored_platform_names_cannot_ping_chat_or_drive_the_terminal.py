"""A mention's platform is shown with the ping breaker in chat alerts and with control characters escaped in terminal
listings: until 2026-12-07 an imported platform "@everyone" paged a whole Discord server, and one holding an OSC 8
hyperlink, a carriage return or colour codes rewrote `status`, `incidents show`, the demo's listing and `export
--platform`'s list of known platforms. Stored platforms are checked on import now; one stored before (or by a
plugin) is still shown safely."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.alerts.format import WRITERS, Item, Style, render
from monitor.cli import cli
from monitor.demo import _print_latest
from monitor.models import Incident, IncidentMention, Mention
from monitor.storage import Database
from tests.test_incidents import _brand, _cli_config

NOW = datetime(2026, 12, 7, 12, tzinfo=timezone.utc)
HOSTILE = "x\x1b]8;;http://e.vil/\x07CLICK\x1b]8;;\x07\r\x1b[31mFAKE\u202e"
TERMINAL_CONTROLS = ("\x1b", "\x07", "\r", "\u202e")


def _item(platform: str) -> Item:
    return Item(1, platform, "ana", 10, "acme is down", None, "negative", 0.9, 90.0, NOW)


@pytest.mark.parametrize("writer", ["markdown", "html", "text"])
def test_an_alert_names_the_platform_without_pinging_or_hidden_characters(writer: str) -> None:
    style = Style(WRITERS[writer], 280, 10, None)
    body = render("urgent", "Acme", [_item("@everyone"), _item(HOSTILE)], {}, style).body
    assert "@everyone" not in body and "everyone" in body
    assert not any(char in body for char in TERMINAL_CONTROLS)


def _stored_hostile_platform(db: Database) -> int:
    """An incident with one mention whose platform is HOSTILE; returns the incident's id."""
    brand_id = _brand(db)
    with db.write() as session:
        incident = Incident(brand_id=brand_id, status="open", opened_at=NOW, first_seen_at=NOW, last_seen_at=NOW,
                            mention_count=1, reach=0, summary={"terms": ["outage"], "languages": {"en": 1}})
        session.add(incident)
        mention = Mention(platform=HOSTILE, external_id="m1", text="Orbisto outage", created_at=NOW,
                          brand_id=brand_id, author_handle="ana", raw={})
        session.add(mention)
        session.flush()
        session.add(IncidentMention(mention_id=mention.id, incident_id=incident.id, similarity=0.9))
        return incident.id


def _assert_shown_safely(output: str) -> None:
    assert "CLICK" in output and "FAKE" in output  # the platform is shown, escaped
    assert not any(char in output for char in TERMINAL_CONTROLS)


def test_terminal_listings_escape_a_stored_platform(sqlite_db: Database, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    incident_id = _stored_hostile_platform(sqlite_db)
    config = str(_cli_config(sqlite_db, tmp_path))
    status = CliRunner().invoke(cli, ["--config", config, "status"])
    assert status.exit_code == 0, status.output
    _assert_shown_safely(status.output)
    shown = CliRunner().invoke(cli, ["--config", config, "incidents", "show", str(incident_id)])
    assert shown.exit_code == 0, shown.output
    _assert_shown_safely(shown.output)
    export = CliRunner().invoke(cli, ["--config", config, "export", "--platform", "nope", "-o",
                                      str(tmp_path / "out.jsonl")])
    assert export.exit_code == 2 and "known:" in export.output
    _assert_shown_safely(export.output)
    _print_latest(sqlite_db)
    _assert_shown_safely(capsys.readouterr().out)
