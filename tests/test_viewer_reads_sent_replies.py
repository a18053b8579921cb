"""A viewer who opens a mention reads the replies already sent to it (and failed or unchecked ones), without
the agents' Retry and "I checked" buttons."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import update

pytest.importorskip("streamlit", reason="the dashboard needs streamlit: pip install 'mentiondesk[dashboard]'")

from monitor.access import Role  # noqa: E402
from monitor.models import Reply, utcnow  # noqa: E402
from monitor.replies import draft_reply  # noqa: E402
from tests.principals import BEN  # noqa: E402
from tests.test_dashboard_fixtures import add_mention, dashboard_db, signed_in_app  # noqa: E402

AGENT_BUTTONS = ("retry-", "posted-", "notposted-")


def test_a_viewer_reads_the_replies_sent_and_an_agent_can_still_act_on_them(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = dashboard_db(tmp_path, monkeypatch)
    m = add_mention(db, text="where is my order?")
    states = {"sent": ("Sorry! We refunded you today.", None),
              "failed": ("We are looking into it.", "rate limited by the platform"),
              "sending": ("Checking with the warehouse.", "the platform did not answer")}  # outcome unknown
    drafted = {state: draft_reply(db, m, body, BEN).id for state, (body, _) in states.items()}
    with db.write() as session:  # where sending left each of them
        for state, (_, error) in states.items():
            session.execute(update(Reply).where(Reply.id == drafted[state]).values(state=state, error=error,
                                                                                    updated_at=utcnow()))

    viewer = signed_in_app(db, "vic", Role.VIEWER)
    viewer.button(key=f"open-{m}").click().run()
    assert not viewer.exception, viewer.exception
    page = "\n".join(h.proto.body for h in viewer.get("html"))
    assert all(body in page for body, _ in states.values()), page
    assert any("rate limited by the platform" in e.value for e in viewer.error)
    assert any("the platform did not answer" in w.value for w in viewer.warning)
    assert not [b.key for b in viewer.button if b.key and b.key.startswith(AGENT_BUTTONS)]

    agent = signed_in_app(db, "ana", Role.AGENT)
    agent.button(key=f"open-{m}").click().run()
    assert sorted(b.key.split("-")[0] for b in agent.button if b.key and b.key.startswith(AGENT_BUTTONS)) == [
        "notposted", "posted", "retry"]
    db.dispose()
