"""A check-in is a reply sent later: on a mention whose platform takes no replies from here (no connector, a
disabled one, or one that only reads) the mention's page offered "Resolve and schedule the check-in" anyway,
resolving the mention and scheduling a reply nothing could ever send, unchecked against any length limit.
It now says why there is no check-in, as the reply box does; the follow-up date is still offered."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

pytest.importorskip("streamlit", reason="the dashboard needs streamlit: pip install 'mentiondesk[dashboard]'")

from monitor.models import CheckIn, Mention  # noqa: E402
from dashboard.safe import md_escape  # noqa: E402
from tests.test_dashboard_fixtures import add_mention, dashboard_db, signed_in_app  # noqa: E402


@pytest.mark.parametrize(("platform", "extra_config"), [
    ("x", ""),  # no [connectors.x] configured
    ("hackernews", "\n[connectors.hackernews]\nenabled = false\n"),
    ("hackernews", "\n[connectors.hackernews]\n"),  # read-only: it cannot post replies
])
def test_no_check_in_is_offered_where_no_reply_can_go_out(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, platform: str, extra_config: str) -> None:
    db = dashboard_db(tmp_path, monkeypatch, extra_config=extra_config)
    m = add_mention(db, platform=platform, replyable=True, priority=80.0, status="open")
    at = signed_in_app(db, "ana")
    at.button(key=f"open-{m}").click().run()
    assert not at.exception, at.exception
    assert f"check-in-{m}" not in [b.key for b in at.button]
    assert f"check-in-body-{m}" not in [t.key for t in at.text_area]
    assert [c.value for c in at.caption if c.value.startswith("No check-in")] == [
        "No check-in: " + md_escape(f"replies to {platform} are not available here, so nothing could send one") + "."]
    # The follow-up date does not send anything: it stays.
    at.button(key=f"follow-up-{m}").click().run()
    assert not at.exception, at.exception
    with db.read() as session:
        assert session.get(Mention, m).status == "pending"
        assert session.scalar(select(func.count()).select_from(CheckIn)) == 0
    db.dispose()


def test_a_check_in_is_still_offered_where_replies_go_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = dashboard_db(tmp_path, monkeypatch)
    m = add_mention(db, priority=80.0, status="open")  # the sample connector posts replies
    at = signed_in_app(db, "ana")
    at.button(key=f"open-{m}").click().run()
    at.text_area(key=f"check-in-body-{m}").input("Is everything working now?").run()
    at.button(key=f"check-in-{m}").click().run()
    assert not at.exception, at.exception
    with db.read() as session:
        assert session.get(Mention, m).status == "resolved"
        assert session.scalar(select(func.count()).select_from(CheckIn)) == 1
    db.dispose()
