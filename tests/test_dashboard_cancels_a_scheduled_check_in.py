"""A mention has one check-in at a time, so the mention's page shows the one under way and lets an agent
cancel it before it comes due: until 2026-12-07 it could only be cancelled on the Incidents page once due,
so "cancel that one first" (the refusal of a second check-in) could not be done for days."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

pytest.importorskip("streamlit", reason="the dashboard needs streamlit: pip install 'mentiondesk[dashboard]'")

from monitor import followups  # noqa: E402
from monitor.models import CheckIn, utcnow  # noqa: E402
from tests.principals import ANA  # noqa: E402
from tests.test_dashboard_fixtures import add_mention, dashboard_db, signed_in_app  # noqa: E402


def test_an_agent_sees_the_scheduled_check_in_and_cancels_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = dashboard_db(tmp_path, monkeypatch)
    mention = add_mention(db, status="open")
    due_at = utcnow() + timedelta(days=3)
    check_in = followups.resolve_with_check_in(db, mention, "Is everything working now?", due_at, ANA)

    at = signed_in_app(db, "ben")
    at.query_params["mention"] = str(mention)  # resolved: not in the open queue, opened by its link
    at.run()
    assert not at.exception, at.exception
    assert [i.value for i in at.info if i.value.startswith("Check-in")] == [
        f"Check-in scheduled: due {due_at:%Y-%m-%d %H:%M} UTC, scheduled by ana."]
    at.button(key=f"check-in-cancel-{check_in.id}").click().run()
    assert not at.exception, at.exception
    assert [s.value for s in at.success] == ["Check-in cancelled."]
    with db.read() as session:
        assert session.scalar(select(CheckIn.state).where(CheckIn.id == check_in.id)) == "cancelled"
    assert not [i.value for i in at.info if i.value.startswith("Check-in")]
    # The customer can be asked again, once.
    again = followups.resolve_with_check_in(db, mention, "Checking in: all good now?", due_at, ANA)
    assert followups.check_in_under_way(db, mention).id == again.id
    db.dispose()
