"""On a brand that needs approval, a due check-in's draft is listed in the mention's approval panel. Its
"Send approved reply" was refused as a collision with the reply the check-in follows up, while the Incidents
page sent it: it now goes out as the Incidents page sends it (followups.approve_check_in)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

pytest.importorskip("streamlit", reason="the dashboard needs streamlit: pip install 'mentiondesk[dashboard]'")

from connectors.base import ConnectorError  # noqa: E402
from connectors.sample import SampleConnector, SampleSettings  # noqa: E402
from monitor import followups  # noqa: E402
from monitor.access import Role  # noqa: E402
from monitor.models import CheckIn, Reply, utcnow  # noqa: E402
from monitor.replies import approve_reply, draft_reply, send_reply  # noqa: E402
from tests.principals import ADMIN, ANA  # noqa: E402
from tests.test_dashboard_fixtures import add_brand, add_mention, dashboard_db, signed_in_app  # noqa: E402


def test_a_due_check_in_is_sent_from_the_approval_panel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = dashboard_db(tmp_path, monkeypatch, brand_settings="reply_approval = true\n")
    m = add_mention(db, brand_id=add_brand(db, "Acme"), priority=80.0, status="open")
    signed_in_app(db, "lead", Role.ADMIN)  # the dashboard syncs the config's brands (reply_approval) as it starts
    first = draft_reply(db, m, "We are on it", ANA)
    approve_reply(db, first.id, ADMIN)
    assert send_reply(db, first.id, SampleConnector(SampleSettings()), ANA).state == "sent"
    check_in = followups.resolve_with_check_in(db, m, "Is everything working now?", utcnow() + timedelta(days=1),
                                               ANA)
    followups.run_due(db, now=utcnow() + timedelta(days=2))

    at = signed_in_app(db, "lead", Role.ADMIN)
    at.query_params["mention"] = str(m)
    at.run()
    at.button(key=f"approve-{check_in.reply_id}").click().run()
    at.button(key=f"send-approved-{check_in.reply_id}").click().run()
    assert not at.exception, at.exception
    assert not at.error
    assert [s.value for s in at.success] == ["Reply posted\\."]
    with db.read() as session:
        assert session.get(CheckIn, check_in.id).state == "sent"
        sent = session.get(Reply, check_in.reply_id)
        assert sent.state == "sent"
    db.dispose()


def test_a_failed_check_in_is_retried_from_the_mention_as_a_check_in(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = dashboard_db(tmp_path, monkeypatch)
    m = add_mention(db, priority=80.0, status="open")
    connector = SampleConnector(SampleSettings())
    assert send_reply(db, draft_reply(db, m, "We are on it", ANA).id, connector, ANA).state == "sent"
    check_in = followups.resolve_with_check_in(db, m, "Is everything working now?", utcnow() + timedelta(days=1),
                                               ANA)
    followups.run_due(db, now=utcnow() + timedelta(days=2))
    post = SampleConnector.reply
    monkeypatch.setattr(SampleConnector, "reply", lambda *_: (_ for _ in ()).throw(ConnectorError("503")))
    assert followups.approve_check_in(db, check_in.id, connector, ANA).state == "failed"
    monkeypatch.setattr(SampleConnector, "reply", post)

    at = signed_in_app(db, "ben")
    at.query_params["mention"] = str(m)
    at.run()
    at.button(key=f"retry-{check_in.reply_id}").click().run()
    assert not at.exception, at.exception
    assert not at.error
    with db.read() as session:
        assert session.get(CheckIn, check_in.id).state == "sent"
        assert session.get(Reply, check_in.reply_id).state == "sent"
    db.dispose()
