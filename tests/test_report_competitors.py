"""`mentiondesk report` takes its competitors from the stored flag, as the dashboard pages do."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import update

from monitor import queue
from monitor.models import Brand
from monitor.storage import Database
from tests.test_dashboard_fixtures import add_brand, add_mention
from tests.test_report import _run


def test_a_stored_competitor_the_config_no_longer_names_stays_out_of_the_report(
        db: Database, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The report read `competitor` from the config: a competitor stored under a key the config does not
    # name (renamed, imported) counted as ours there, while the pages, reading the stored flag, left it out.
    config = tmp_path / "mentiondesk.toml"
    config.write_text(f'[database]\nurl = "{database_url}"\n[[brands]]\nname = "Acme"\nkeywords = ["acme"]\n'
                      '[connectors.sample]\n', encoding="utf-8")
    acme, rival = add_brand(db, "Acme"), add_brand(db, "Rival")
    with db.write() as session:
        session.execute(update(Brand).where(Brand.id == rival).values(competitor=True))
    posted = datetime(2026, 11, 2, 9, tzinfo=timezone.utc)
    add_mention(db, brand_id=acme, created_at=posted, intent="complaint", text="acme app broken")
    for _ in range(3):
        add_mention(db, brand_id=rival, created_at=posted, intent="complaint", text="rival prices too high")
    built = []
    monkeypatch.setattr("monitor.report.write", lambda report, title, out: built.append(report))
    result = _run(config, "--from", "2026-11-01", "--to", "2026-11-07", "--out", str(tmp_path / "r.png"))
    assert result.exit_code == 0, result.output
    [report] = built
    with db.read() as session:
        assert report.competitor_ids == frozenset(queue.competitor_brand_ids(session)) == {rival}
    assert sum(v.count for v in report.volume) == 1 and "prices" not in [c.key for c in report.top_terms]
    assert [(s.key, s.mentions) for s in report.share_of_voice] == [("rival", 3), ("acme", 1)]
