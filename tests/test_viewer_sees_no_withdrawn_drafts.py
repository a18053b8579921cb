"""A mention's reply history lists what went out or was tried (sending, sent, failed). Drafts withdrawn or
replaced by their author (cancelled) never went out, and were listed, full text included, to everyone who
opened the mention, viewers too."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("streamlit", reason="the dashboard needs streamlit: pip install 'mentiondesk[dashboard]'")

from monitor.access import Role  # noqa: E402
from monitor.replies import approve_reply, draft_reply, withdraw_draft  # noqa: E402
from tests.principals import ADMIN, ANA  # noqa: E402
from tests.test_dashboard_fixtures import add_brand, add_mention, dashboard_db, signed_in_app  # noqa: E402


@pytest.mark.parametrize("role", [Role.VIEWER, Role.AGENT])
def test_withdrawn_and_replaced_drafts_are_not_in_the_reply_history(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, role: Role) -> None:
    db = dashboard_db(tmp_path, monkeypatch, brand_settings="reply_approval = true\n")
    m = add_mention(db, brand_id=add_brand(db, "Acme"), priority=80.0)
    signed_in_app(db, "ana")  # the dashboard syncs the config's brands (reply_approval) as it starts
    draft_reply(db, m, "Your card ending 4242 was refunded", ANA)
    withdrawn = draft_reply(db, m, "Sorry for the trouble: could you DM us?", ANA)  # replaces the first
    withdraw_draft(db, withdrawn.id, ANA)
    waiting = draft_reply(db, m, "We are looking into it", ANA)
    approve_reply(db, waiting.id, ADMIN)

    at = signed_in_app(db, "vic", role)
    at.query_params["mention"] = str(m)
    at.run()
    assert not at.exception, at.exception
    assert not [c.value for c in at.caption if c.value.startswith("Reply by")]
    shown = "\n".join(h.proto.body for h in at.get("html"))
    assert "4242" not in shown and "DM us" not in shown
    db.dispose()
