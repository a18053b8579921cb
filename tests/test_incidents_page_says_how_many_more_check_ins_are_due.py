"""The Incidents page lists the check-ins due first and says how many more are due behind them."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

pytest.importorskip("streamlit", reason="the dashboard needs streamlit: pip install 'mentiondesk[dashboard]'")

from monitor import followups  # noqa: E402
from monitor.access import Role  # noqa: E402
from monitor.models import utcnow  # noqa: E402
from monitor.storage import Database  # noqa: E402
from tests.principals import ANA  # noqa: E402
from tests.test_dashboard_fixtures import add_mention, dashboard_db, signed_in_app  # noqa: E402

if TYPE_CHECKING:
    from streamlit.testing.v1 import AppTest


def _due_check_ins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, count: int) -> tuple[Database, list[int]]:
    db = dashboard_db(tmp_path, monkeypatch)
    due_at = utcnow() + timedelta(hours=1)
    check_ins = [followups.resolve_with_check_in(db, add_mention(db, status="open"), "All good now?",
                                                 due_at + timedelta(minutes=n), ANA).id for n in range(count)]
    followups.run_due(db, due_at + timedelta(days=1))
    return db, check_ins


def _shown(at: AppTest) -> list[str]:
    return [b.key for b in at.button if b.key and b.key.startswith("check-in-approve-")]


def test_check_ins_beyond_the_list_are_counted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Until 2026-12-07 the page showed the first 100 due and said nothing of the rest.
    db, check_ins = _due_check_ins(tmp_path, monkeypatch, followups.CHECK_INS_LISTED + 3)
    at = signed_in_app(db, "ben", Role.AGENT).switch_page("pages/incidents.py").run()
    assert not at.exception, at.exception
    assert _shown(at) == [f"check-in-approve-{i}" for i in check_ins[:followups.CHECK_INS_LISTED]], "due first, first"
    assert [c.value for c in at.caption if "more" in c.value] == [
        f"The {followups.CHECK_INS_LISTED} due first are listed; 3 more wait behind them and are listed as these "
        "are approved or cancelled."]
    db.dispose()


def test_a_list_that_holds_them_all_says_nothing_more(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db, check_ins = _due_check_ins(tmp_path, monkeypatch, followups.CHECK_INS_LISTED)
    at = signed_in_app(db, "ben", Role.AGENT).switch_page("pages/incidents.py").run()
    assert not at.exception, at.exception
    assert len(_shown(at)) == len(check_ins)
    assert [c.value for c in at.caption if "more" in c.value] == []
    db.dispose()
