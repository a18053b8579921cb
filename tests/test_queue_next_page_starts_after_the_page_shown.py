""""Next →" continues after the last mention of the page the agent read, although teammates' triage
meanwhile moved later mentions up onto that page: none is skipped."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("streamlit", reason="the dashboard needs streamlit: pip install 'mentiondesk[dashboard]'")

from monitor import triage  # noqa: E402
from tests.principals import BEN  # noqa: E402
from tests.test_dashboard_fixtures import add_mention, dashboard_db, listed, signed_in_app  # noqa: E402


def test_next_shows_the_mentions_after_the_page_read_although_teammates_triaged_on_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = dashboard_db(tmp_path, monkeypatch, "[dashboard]\npage_size = 5\n")
    ids = [add_mention(db, priority=float(100 - i)) for i in range(12)]  # most urgent first
    at = signed_in_app(db)
    assert listed(at) == [f"open-{i}" for i in ids[:5]]
    triage.set_status(db, ids[:2], "resolved", BEN)  # two leave the open-work view while the agent reads
    at.button(key="page-next").click().run()
    assert not at.exception, at.exception
    assert listed(at) == [f"open-{i}" for i in ids[5:10]]
    assert [c.value for c in at.caption if c.value.startswith("Page ")] == ["Page 2"]
    at.button(key="page-prev").click().run()
    assert listed(at) == [f"open-{i}" for i in ids[2:7]], "page 1 as it is now"
    assert [c.value for c in at.caption if c.value.startswith("Page ")] == ["Page 1"]
    db.dispose()
