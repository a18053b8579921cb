"""A half-written check-in reply outlives opening another mention or page, as the reply box's text does. It used
to go back to the template's text (or to empty), and the check-in scheduled then was not the one written."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

pytest.importorskip("streamlit", reason="the dashboard needs streamlit: pip install 'mentiondesk[dashboard]'")

from monitor.models import Reply  # noqa: E402
from tests.test_dashboard_fixtures import add_mention, dashboard_db, signed_in_app  # noqa: E402

CHECK_IN = '[[reply_templates]]\nname = "Check-in"\nbody = "Hi {author}, is everything working now?"\n'


def test_a_half_written_check_in_survives_another_mention_and_page(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = dashboard_db(tmp_path, monkeypatch, CHECK_IN)
    m = add_mention(db, priority=60.0, replyable=True, author_name="Lucía", text="my order never came")
    other = add_mention(db, priority=50.0, replyable=True)
    at = signed_in_app(db, "ana")
    at.button(key=f"open-{m}").click().run()
    assert at.text_area(key=f"check-in-body-{m}").value == "Hi Lucía, is everything working now?"
    written = "Hi Lucía! Did the replacement parcel (ref 4471) reach you?"
    at.text_area(key=f"check-in-body-{m}").input(written).run()

    at.button(key=f"open-{other}").click().run()
    at.button(key=f"open-{m}").click().run()
    assert at.text_area(key=f"check-in-body-{m}").value == written
    at.switch_page("pages/sla.py").run()
    at.switch_page("pages/queue.py").run()
    assert at.text_area(key=f"check-in-body-{m}").value == written

    at.button(key=f"check-in-{m}").click().run()
    assert not at.exception, at.exception
    with db.read() as session:
        assert session.scalars(select(Reply.body).where(Reply.mention_id == m)).all() == [written]
    db.dispose()
