"""The Analytics page and `mentiondesk report` count a mention stored with no brand as ours, as the queue does."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import update

from monitor.access import Role
from monitor.alerts.models import AlertEvent
from monitor.models import Brand, utcnow
from monitor.queue import QueueFilters, competitor_brand_ids, count
from monitor.storage import Database
from tests.test_dashboard_fixtures import add_brand, add_mention, signed_in_app

pytest.importorskip("matplotlib")
pytest.importorskip("streamlit")

from tests.test_report import _run  # noqa: E402

POSTED = datetime(2026, 11, 2, 9, tzinfo=timezone.utc)


def _acme_rival(db: Database) -> tuple[int, int]:
    acme, rival = add_brand(db, "Acme"), add_brand(db, "Rival")
    with db.write() as session:
        session.execute(update(Brand).where(Brand.id == rival).values(competitor=True))
    return acme, rival


def test_the_report_counts_a_mention_with_no_brand_as_ours(
        db: Database, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # `import` takes a record without a brand; the queue lists it as the team's work, but the report
    # filtered on the ids of our brands and left it out of every figure, overdue SLA and backlog included.
    config = tmp_path / "mentiondesk.toml"
    config.write_text(f'[database]\nurl = "{database_url}"\n[[brands]]\nname = "Acme"\nkeywords = ["acme"]\n'
                      '[connectors.sample]\n', encoding="utf-8")
    acme, rival = _acme_rival(db)
    add_mention(db, brand_id=acme, created_at=POSTED, priority=80.0, text="acme app broken")
    add_mention(db, brand_id=None, created_at=POSTED, priority=80.0, text="acme charged me twice")
    add_mention(db, brand_id=rival, created_at=POSTED, priority=80.0, text="rival prices too high")
    with db.write() as session:  # a competitor's spike is not ours to draw either
        session.add(AlertEvent(rule="volume_spike", brand_id=rival, target="team", status="sent",
                               dedupe_key=f"volume_spike:{rival}:2026-11-02T09", created_at=POSTED))
    with db.read() as session:
        in_queue, _ = count(session, QueueFilters(competitor_brand_ids=competitor_brand_ids(session)))
    built = []
    monkeypatch.setattr("monitor.report.write", lambda report, title, out: built.append(report))
    result = _run(config, "--from", "2026-11-01", "--to", "2026-11-07", "--out", str(tmp_path / "r.png"))
    assert result.exit_code == 0, result.output
    [report] = built
    assert in_queue == 2
    assert sum(v.count for v in report.volume) == 2
    assert report.responses.attainment.overdue == 2
    assert sum(c.count for c in report.backlog) == 2
    assert report.spikes == []
    assert [(s.key, s.mentions) for s in report.share_of_voice] == [("acme", 1), ("rival", 1)]
    built.clear()
    result = _run(config, "--from", "2026-11-01", "--to", "2026-11-07", "--brand", "acme",
                  "--out", str(tmp_path / "r.png"))
    assert result.exit_code == 0, result.output
    assert sum(v.count for v in built[0].volume) == 1  # a brand named is just that brand


def test_the_page_counts_a_mention_with_no_brand_as_ours(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db_path = tmp_path / "dash.db"
    config = tmp_path / "mentiondesk.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{db_path}"\n[[brands]]\nname = "Acme"\nkeywords = ["acme"]\n'
                      '[[brands]]\nname = "Rival"\nkeywords = ["rival"]\ncompetitor = true\n[connectors.sample]\n',
                      encoding="utf-8")
    monkeypatch.setenv("MENTIONDESK_CONFIG", str(config))
    db = Database.open(f"sqlite:///{db_path}")
    db.upgrade()
    acme, rival = _acme_rival(db)
    posted = utcnow() - timedelta(days=2)
    for brand_id in (acme, None, rival):
        add_mention(db, brand_id=brand_id, created_at=posted, priority=80.0, text="still no refund")
    at = signed_in_app(db, "vic", Role.VIEWER)
    db.dispose()
    at.switch_page("pages/analytics.py").run()
    assert not at.exception, at.exception
    metrics = {m.label: m.value for m in at.metric}
    # As the picker starts (every brand of ours): Acme's and the brandless mention, not Rival's.
    assert (metrics["Mentions"], metrics["Unanswered backlog"]) == ("2", "2")
    at.multiselect(key="an-brands").set_value([rival]).run()
    assert {m.label: m.value for m in at.metric}["Mentions"] == "1"  # a narrower pick is just those brands
