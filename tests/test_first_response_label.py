"""The first-response chart says "business hours" only when the times were counted in them
([sla.business_hours] set), in the PDF/PNG report and on the Analytics page alike: both titled it
"(business hours)" whatever the config said."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

pytest.importorskip("matplotlib")

from monitor import analytics, report  # noqa: E402
from monitor.access import Role  # noqa: E402
from monitor.models import utcnow  # noqa: E402
from monitor.sla import BusinessHours, SlaPolicy  # noqa: E402
from monitor.storage import Database  # noqa: E402
from tests.test_dashboard_fixtures import add_brand, add_mention, signed_in_app  # noqa: E402

BUSINESS = "first-response time (business hours)"
AROUND_THE_CLOCK = "first-response time (around the clock)"
BUSINESS_HOURS_TOML = '[sla.business_hours]\ntimezone = "UTC"\nstart = "09:00"\nend = "17:00"\n'


def _built(db: Database, policy: SlaPolicy) -> analytics.Report:
    now = utcnow()
    brand = add_brand(db, "Acme")
    created = now - timedelta(days=1)
    add_mention(db, brand_id=brand, platform="x", status="resolved", priority=80.0, created_at=created,
                first_response_at=created + timedelta(minutes=30))
    with db.read() as session:
        return analytics.build_report(session, policy, analytics.scope(now - timedelta(days=7), now), now,
                                      voice_brand_ids=[brand])


@pytest.mark.parametrize(("policy", "label"), [(SlaPolicy(), AROUND_THE_CLOCK),
                                               (SlaPolicy(business_hours=BusinessHours()), BUSINESS)])
def test_the_report_titles_the_chart_by_how_the_times_were_counted(sqlite_db: Database, policy: SlaPolicy,
                                                                   label: str) -> None:
    built = _built(sqlite_db, policy)
    assert built.responses.time_label == label
    titles = [ax.get_title(loc="left") for ax in report.render(built, "report").axes]
    assert label.capitalize() in titles
    assert [t for t in titles if "business hours" in t] == ([label.capitalize()] if label == BUSINESS else [])


@pytest.mark.parametrize(("sla", "label"), [("", AROUND_THE_CLOCK), (BUSINESS_HOURS_TOML, BUSINESS)])
def test_the_analytics_page_titles_the_chart_by_the_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           sla: str, label: str) -> None:
    pytest.importorskip("streamlit")
    db_path = tmp_path / "dash.db"
    config = tmp_path / "mentiondesk.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{db_path}"\n\n[[brands]]\nname = "Acme"\nkeywords = ["acme"]\n\n'
                      f'[connectors.sample]\n\n{sla}', encoding="utf-8")
    monkeypatch.setenv("MENTIONDESK_CONFIG", str(config))
    db = Database.open(f"sqlite:///{db_path}")
    db.upgrade()
    _built(db, SlaPolicy())
    at = signed_in_app(db, "vic", Role.VIEWER)
    db.dispose()
    at.switch_page("pages/analytics.py").run()
    assert not at.exception, at.exception
    specs = [chart.proto.spec for chart in at.get("vega_lite_chart")]
    assert any(label in spec for spec in specs), specs
    assert label == BUSINESS or not any("business hours" in spec for spec in specs)
