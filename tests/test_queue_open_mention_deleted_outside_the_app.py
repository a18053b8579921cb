"""An open mention deleted outside the app (an erasure done in SQL) is said to be gone; the queue page
does not crash on every run."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("streamlit", reason="the dashboard needs streamlit: pip install 'mentiondesk[dashboard]'")

from sqlalchemy import delete  # noqa: E402

from monitor.models import Mention  # noqa: E402
from tests.test_dashboard_fixtures import add_mention, dashboard_db, listed, signed_in_app  # noqa: E402


def test_an_open_mention_deleted_outside_the_app_is_said_to_be_gone(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = dashboard_db(tmp_path, monkeypatch)
    gone, kept = add_mention(db, priority=90.0), add_mention(db, priority=80.0)
    at = signed_in_app(db)
    at.button(key=f"open-{gone}").click().run()
    with db.write() as session:
        session.execute(delete(Mention).where(Mention.id == gone))
    at.run()
    assert not at.exception, at.exception
    assert "That mention no longer exists." in [i.value for i in at.info]
    assert listed(at) == [f"open-{kept}"]
    at.run()  # the next run has nothing open
    assert not at.exception, at.exception
    assert "Open a mention to triage and reply." in [i.value for i in at.info]
    db.dispose()
