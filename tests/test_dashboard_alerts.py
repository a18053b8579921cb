"""The Alerts page shows what went to team chat, what was held back, and with no URL in sight."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("streamlit", reason="the dashboard needs streamlit: pip install 'mentiondesk[dashboard]'")

from monitor.alerts.engine import AlertEngine  # noqa: E402
from monitor.alerts.receiver import Receiver  # noqa: E402
from monitor.config import Config  # noqa: E402
from monitor.models import utcnow  # noqa: E402
from monitor.storage import Database  # noqa: E402
from monitor.access import Role  # noqa: E402
from tests.test_dashboard_fixtures import add_brand, add_mention, signed_in_app  # noqa: E402



def test_alerts_page_lists_sent_alerts_by_target_name_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db_path = tmp_path / "dash.db"
    config_path = tmp_path / "mentiondesk.toml"
    config_path.write_text(
        f'[database]\nurl = "sqlite:///{db_path}"\n[[brands]]\nname = "Acme"\nkeywords = ["acme"]\n'
        '[connectors.sample]\n[[alerts.targets]]\nname = "care"\n', encoding="utf-8")
    with Receiver() as receiver:
        secret_url = receiver.json_url("hook-secret-path")
        monkeypatch.setenv("MENTIONDESK_CONFIG", str(config_path))
        monkeypatch.setenv("MENTIONDESK_ALERT_CARE_URL", secret_url)
        config = Config.load(config_path)
        db = Database.open(config.database_url)
        db.upgrade()
        brand = add_brand(db, "Acme")
        urgent = add_mention(db, brand_id=brand, text="I want a refund, this is a scam", sentiment_label="negative",
                             sentiment_score=0.9, created_at=utcnow())
        with AlertEngine(db, config.alerts, config.alert_targets) as engine:
            engine.on_new_mentions([urgent])
            assert engine.drain(10)
        assert len(receiver.wait_for(1)) == 1

        at = signed_in_app(db, "vic", Role.VIEWER)  # reading alerts needs no more than viewer
        at.switch_page("pages/alerts.py").run()
        assert not at.exception, at.exception
        assert {m.label: m.value for m in at.metric}["sent (24 h)"] == "1"
        rows = at.dataframe[0].value
        assert list(rows["rule"]) == ["urgent"] and list(rows["target"]) == ["care"]
        assert list(rows["status"]) == ["sent"] and list(rows["mentions"]) == [str(urgent)]
        assert "hook-secret-path" not in rows.to_csv()
        db.dispose()
