"""Terminal listings name a mention's author as @handle, or "unknown author" where the platform named none (an
RSS entry, a post read without its author): they printed "@?", a handle no one has."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from click.testing import CliRunner

from monitor.cli import cli
from monitor.models import Incident, IncidentMention, Mention
from monitor.storage import Database
from tests.test_incidents import _brand, _cli_config

NOW = datetime(2026, 12, 7, 12, tzinfo=timezone.utc)


def test_incidents_show_names_an_unknown_author_as_such(sqlite_db: Database, tmp_path: Path) -> None:
    brand_id = _brand(sqlite_db)
    with sqlite_db.write() as session:
        incident = Incident(brand_id=brand_id, status="open", opened_at=NOW, first_seen_at=NOW, last_seen_at=NOW,
                            mention_count=2, reach=0, summary={"terms": ["outage"], "languages": {"en": 2}})
        session.add(incident)
        for n, handle in enumerate(("ana", None)):
            mention = Mention(platform="rss", external_id=f"m{n}", text=f"Orbisto outage {n}", created_at=NOW,
                              brand_id=brand_id, author_handle=handle, raw={})
            session.add(mention)
            session.flush()
            session.add(IncidentMention(mention_id=mention.id, incident_id=incident.id, similarity=0.9))
        incident_id = incident.id
    shown = CliRunner().invoke(cli, ["--config", str(_cli_config(sqlite_db, tmp_path)), "incidents", "show",
                                     str(incident_id)])
    assert shown.exit_code == 0, shown.output
    lines = [line for line in shown.output.splitlines() if "Orbisto outage" in line]
    assert len(lines) == 2 and "@ana: " in lines[0] + lines[1] and "unknown author: " in lines[0] + lines[1]
    assert "@?" not in shown.output
