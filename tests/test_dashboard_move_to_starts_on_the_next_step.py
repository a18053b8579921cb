"""The open mention's "Move to" list runs in the order of the work (open, pending, resolved, ignored, spam), so it
starts on the next step: "Set status" clicked without a pick opens a new mention and sets an open one pending.
Until 2026-12-07 the list was alphabetical and started on "ignored": that click dismissed a customer's complaint."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("streamlit", reason="the dashboard needs streamlit: pip install 'mentiondesk[dashboard]'")

from monitor.models import Mention  # noqa: E402
from tests.test_dashboard_fixtures import add_mention, dashboard_db, signed_in_app  # noqa: E402


@pytest.mark.parametrize(("status", "offered"), [
    ("new", ["open", "pending", "resolved", "ignored", "spam"]),
    ("open", ["pending", "resolved", "ignored", "spam"]),
    ("resolved", ["open"]),
])
def test_set_status_without_a_pick_takes_the_next_step(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        status: str, offered: list[str]) -> None:
    db = dashboard_db(tmp_path, monkeypatch)
    try:
        m = add_mention(db, status=status, text="acme charged me twice", sentiment_label="negative")
        at = signed_in_app(db)
        at.multiselect(key="f-statuses").set_value([status]).run()
        at.button(key=f"open-{m}").click().run()
        assert at.selectbox(key=f"status-{m}").options == offered
        at.button(key=f"set-status-{m}").click().run()
        assert not at.exception, at.exception
        with db.read() as session:
            assert session.get(Mention, m).status == offered[0]
    finally:
        db.dispose()
