"""The queue's Tag filter keeps the tags chosen in it: one no mention holds any more, or one past the tags
listed, narrows the queue still (to nothing, or to its mentions) instead of dropping out unsaid and
widening the queue to all open work."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("streamlit", reason="the dashboard needs streamlit: pip install 'mentiondesk[dashboard]'")

from monitor import triage  # noqa: E402
from monitor.models import MentionTag  # noqa: E402
from tests.principals import BEN  # noqa: E402
from tests.test_dashboard_fixtures import add_mention, dashboard_db, listed, signed_in_app  # noqa: E402

CUT_SHORT = "The first 500 tags (A to Z) are listed: type any other to filter by it."


def test_a_chosen_tag_a_teammate_removed_from_every_mention_still_filters(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = dashboard_db(tmp_path, monkeypatch)
    vip = add_mention(db, priority=90.0)
    for i in range(3):
        add_mention(db, priority=50.0 - i)
    triage.add_tag(db, [vip], "vip", BEN)
    at = signed_in_app(db)
    at.multiselect(key="f-tags").select("vip").run()
    assert listed(at) == [f"open-{vip}"]
    triage.remove_tag(db, [vip], "vip", BEN)
    at.run()
    assert not at.exception, at.exception
    assert at.multiselect(key="f-tags").value == ["vip"]
    assert listed(at) == [] and at.caption[0].value == "0 mention(s) match"
    assert CUT_SHORT not in [c.value for c in at.sidebar.caption]
    db.dispose()


def test_a_tag_past_the_listed_ones_can_be_chosen_and_stays_chosen(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = dashboard_db(tmp_path, monkeypatch)
    vip, ordered = add_mention(db, priority=90.0), add_mention(db, priority=50.0)
    add_mention(db, priority=40.0)
    triage.add_tag(db, [vip], "vip", BEN)
    at = signed_in_app(db)
    at.multiselect(key="f-tags").select("vip").run()
    with db.write() as session:  # 501 order numbers, all sorting before "vip"
        session.add_all(MentionTag(mention_id=ordered, tag=f"order-{n:03d}") for n in range(501))
    at.run()
    assert not at.exception, at.exception
    assert "vip" not in at.multiselect(key="f-tags").options
    assert CUT_SHORT in [c.value for c in at.sidebar.caption], "the list says it is cut short"
    assert at.multiselect(key="f-tags").value == ["vip"] and listed(at) == [f"open-{vip}"]
    at.multiselect(key="f-tags").set_value(["VIP "]).run()  # typed as the agent remembers it
    assert listed(at) == [f"open-{vip}"]
    db.dispose()
