"""The dashboard acting on a page drawn before something changed: a user disabled or demoted meanwhile,
a mention a teammate moved or took meanwhile, the Breaching SLA view's clock; and settings and names
that the page must take as they are (a check-in's days, a platform's name)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

pytest.importorskip("streamlit", reason="the dashboard needs streamlit: pip install 'mentiondesk[dashboard]'")
from streamlit.testing.v1 import AppTest  # noqa: E402

from dashboard.safe import md_escape  # noqa: E402
from monitor import audit, triage, users  # noqa: E402
from monitor.access import Role, local_operator  # noqa: E402
from monitor.config import Config  # noqa: E402
from monitor.errors import ConfigError  # noqa: E402
from monitor.models import Mention, Reply, utcnow  # noqa: E402
from monitor.storage import Database  # noqa: E402
from tests.principals import ADMIN, BEN  # noqa: E402
from tests.test_dashboard_fixtures import add_brand, add_mention, dashboard_db, listed, signed_in_app  # noqa: E402

SIGNED_OUT = "Not done: sending a reply needs a signed-in user, and your session has ended."


def _replies(db: Database, mention_id: int) -> list[tuple[str, str]]:
    with db.read() as session:
        return [(r.author, r.state) for r in session.scalars(select(Reply).where(Reply.mention_id == mention_id))]


def _mention(db: Database, mention_id: int) -> Mention:
    with db.read() as session:
        mention = session.get(Mention, mention_id)
        assert mention is not None
        return mention


def _warnings(at: AppTest) -> list[str]:
    return [w.value for w in at.warning]


def _opened(db: Database, mention_id: int, name: str = "ana") -> AppTest:
    at = signed_in_app(db, name, Role.AGENT)
    at.button(key=f"open-{mention_id}").click().run()
    assert not at.exception, at.exception
    return at


def _lose_agent_rights(db: Database, how: str) -> None:
    if how == "disabled":
        users.disable_user(db, local_operator(), "ana")
    else:
        users.set_role(db, local_operator(), "ana", Role.VIEWER)


@pytest.mark.parametrize("how", ["disabled", "demoted"])
def test_a_reply_is_not_sent_by_a_user_who_lost_the_right_after_the_page_was_drawn(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str) -> None:
    db = dashboard_db(tmp_path, monkeypatch)
    m = add_mention(db, priority=80.0)
    at = _opened(db, m)
    at.text_area(key=f"reply-text-{m}").input("We are looking into it").run()
    _lose_agent_rights(db, how)
    at.button(key=f"send-{m}").click().run()
    assert not at.exception, at.exception
    assert _replies(db, m) == [], "nothing drafted, nothing posted"
    errors = [e.value for e in at.error]
    if how == "disabled":
        assert errors == [SIGNED_OUT]
        assert "Sign in" in [s.value for s in at.subheader]
    else:
        assert errors == [f"Not done: {md_escape('sending a reply needs the agent role; ana is a viewer')}"]
    db.dispose()


def test_an_approved_reply_is_not_sent_by_a_user_disabled_after_the_page_was_drawn(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = dashboard_db(tmp_path, monkeypatch, brand_settings="reply_approval = true\n")
    m = add_mention(db, brand_id=add_brand(db, "Acme"))
    at = _opened(db, m)
    at.text_area(key=f"reply-text-{m}").input("We are on it").run()
    at.button(key=f"send-{m}").click().run()  # waits for approval
    with db.read() as session:
        [reply_id] = session.scalars(select(Reply.id).where(Reply.mention_id == m)).all()
    lead = signed_in_app(db, "lead", Role.ADMIN)
    lead.button(key=f"open-{m}").click().run()
    lead.button(key=f"approve-{reply_id}").click().run()
    at.run()  # ana's page now offers "Send approved reply"
    users.disable_user(db, local_operator(), "ana")
    at.button(key=f"send-approved-{reply_id}").click().run()
    assert not at.exception, at.exception
    assert _replies(db, m) == [("ana", "draft")]
    assert [e.value for e in at.error] == [SIGNED_OUT]
    db.dispose()


def test_a_status_picked_on_a_page_drawn_before_a_teammate_changed_it_is_refused(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = dashboard_db(tmp_path, monkeypatch)
    m = add_mention(db, priority=50.0)
    at = _opened(db, m)
    at.selectbox(key=f"status-{m}").select("pending").run()
    assert triage.set_status(db, [m], "resolved", BEN).changed == [m]
    at.button(key=f"set-status-{m}").click().run()  # its "Move to" list now offers only "open" (reopen)
    assert not at.exception, at.exception
    assert _mention(db, m).status == "resolved"
    with db.read() as session:
        assert [(e.actor, e.action) for e in audit.entries(session, ADMIN, m)] == [("ben", "triage.status")]
    assert _warnings(at) == [f"Mention {m}: " + md_escape("changed since it was shown: its status is now resolved. "
                                                        "Nothing was done; look again and choose.")]
    assert not at.success
    # Chosen again on the page as it is now, it applies.
    at.button(key=f"set-status-{m}").click().run()
    assert _mention(db, m).status == "open" and [s.value for s in at.success] == ["status open: 1 mention(s)"]
    db.dispose()


def test_an_assignee_picked_on_a_page_drawn_before_a_teammate_took_it_is_refused(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = dashboard_db(tmp_path, monkeypatch, extra_config='\n[dashboard]\nteam = ["ana", "ben", "carl", "dan"]\n')
    m = add_mention(db, priority=50.0)
    at = _opened(db, m)
    at.selectbox(key=f"assign-to-{m}").select("ben").run()
    assert triage.assign(db, [m], "ben", BEN).changed == [m]
    at.button(key=f"assign-{m}").click().run()  # its "Assign to" list now starts with carl
    assert not at.exception, at.exception
    assert _mention(db, m).assignee == "ben"
    assert _warnings(at) == [f"Mention {m}: " + md_escape("changed since it was shown: its assignee is now ben. "
                                                        "Nothing was done; look again and choose.")]
    # "Assign to me" on that stale page would have taken it from ben just as quietly.
    assert triage.assign(db, [m], None, BEN).changed == [m]
    at.button(key=f"assign-me-{m}").click().run()
    assert _mention(db, m).assignee is None and "its assignee is now none" in _warnings(at)[0]
    at.button(key=f"assign-me-{m}").click().run()
    assert _mention(db, m).assignee == "ana" and [s.value for s in at.success] == ["assigned to you: 1 mention(s)"]
    db.dispose()


def _page_label(at: AppTest) -> list[str]:
    return [c.value for c in at.caption if c.value.startswith("Page ")]


def test_the_breaching_sla_view_pages_forward_although_its_cutoffs_move_with_the_clock(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = dashboard_db(tmp_path, monkeypatch)
    now = utcnow()
    for i in range(30):  # long overdue, unanswered: two pages of 25
        add_mention(db, priority=90.0, created_at=now - timedelta(days=2, minutes=i))
    at = signed_in_app(db)
    at.selectbox(key="view").select("Breaching SLA").run()
    first = listed(at)
    at.button(key="page-next").click().run()
    assert not at.exception, at.exception
    assert _page_label(at) == ["Page 2"] and len(listed(at)) == 5 and not set(first) & set(listed(at))
    at.run()  # another run, later cutoffs: still page 2
    assert _page_label(at) == ["Page 2"]
    at.selectbox(key="view").select("All open").run()  # another view starts over
    assert _page_label(at) == ["Page 1"]
    db.dispose()


def test_a_check_in_default_the_dashboard_cannot_offer_is_a_config_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = dashboard_db(tmp_path, monkeypatch, extra_config="\n[check_ins]\nafter_days = 0.05\n")
    config_path = tmp_path / "mentiondesk.toml"
    with pytest.raises(ConfigError, match=r"check_ins\.after_days: Input should be greater than or equal to 0\.1"):
        Config.load(config_path)
    # The smallest value the config takes is one the "Days from now" input offers.
    config_path.write_text(config_path.read_text().replace("after_days = 0.05", "after_days = 0.1"))
    m = add_mention(db, priority=50.0)
    at = _opened(db, m)
    assert at.number_input(key=f"check-in-days-{m}").value == pytest.approx(0.1)
    db.dispose()


def test_a_platform_name_in_the_no_replies_notice_shows_as_typed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = dashboard_db(tmp_path, monkeypatch)
    platform = "[Call support](https://evil.example)"  # free text from an import: no connector has this name
    m = add_mention(db, platform=platform, priority=50.0)
    at = _opened(db, m)
    assert [i.value for i in at.info] == [f"Replies to {md_escape(platform)} are not available here; "
                                          "answer on the platform."]
    db.dispose()


def _bulk_outcome(at: AppTest) -> tuple[list[str], list[str]]:
    return [s.value for s in at.success], _warnings(at)


def test_a_bulk_action_acts_only_on_rows_still_as_the_page_showed_them(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = dashboard_db(tmp_path, monkeypatch)
    taken, resolved, untouched = (add_mention(db, priority=float(p)) for p in (90, 80, 70))
    at = signed_in_app(db, "ana", Role.AGENT)
    for m in (taken, resolved, untouched):
        at.checkbox(key=f"sel-{m}").check().run()
    at.selectbox(key="bulk-status").select("pending").run()
    assert triage.assign(db, [taken], "ben", BEN).changed == [taken]  # ana's page still shows it new, unassigned
    assert triage.set_status(db, [resolved], "resolved", BEN).changed == [resolved]
    at.button(key="bulk-apply-status").click().run()
    assert not at.exception, at.exception
    assert [_mention(db, m).status for m in (taken, resolved, untouched)] == ["open", "resolved", "pending"]
    changed = "changed since it was shown: its status is now {}. Nothing was done; look again and choose."
    assert _bulk_outcome(at) == (["status pending: 1 mention(s)"],
                                 [f"Mention {taken}: " + md_escape(changed.format("open")),
                                  f"Mention {resolved}: " + md_escape(changed.format("resolved"))])
    # Ticked again on the page as it is now (ben's), then taken by carl meanwhile: ana's Assign leaves it.
    at.checkbox(key=f"sel-{taken}").check().run()
    at.checkbox(key=f"sel-{untouched}").check().run()
    assert triage.assign(db, [taken], "carl", BEN).changed == [taken]
    at.button(key="bulk-assign").click().run()  # to herself
    assert [_mention(db, m).assignee for m in (taken, untouched)] == ["carl", "ana"]
    assert _bulk_outcome(at) == (["assigned to ana: 1 mention(s)"],
                                 [f"Mention {taken}: " + md_escape("changed since it was shown: its assignee is now "
                                                                   "carl. Nothing was done; look again and choose.")])
    db.dispose()


def test_a_bulk_action_includes_ticked_mentions_a_poll_pushed_off_the_page(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = dashboard_db(tmp_path, monkeypatch, "[dashboard]\npage_size = 5\n")
    ids = [add_mention(db, priority=float(50 - i)) for i in range(5)]
    at = signed_in_app(db, "ana", Role.AGENT)
    for m in (ids[0], ids[1], ids[4]):
        at.checkbox(key=f"sel-{m}").check().run()
    add_mention(db, priority=99.0, text="urgent, just polled")  # ids[4] is on page 2 now
    at.run()
    assert f"open-{ids[4]}" not in listed(at)
    assert "3 selected (1 not on this page)" in [c.value for c in at.caption]
    at.selectbox(key="bulk-status").select("resolved").run()
    at.button(key="bulk-apply-status").click().run()
    assert not at.exception, at.exception
    assert [_mention(db, m).status for m in ids] == ["resolved", "resolved", "new", "new", "resolved"]
    assert _bulk_outcome(at) == (["status resolved: 3 mention(s)"], [])
    assert "0 selected" in [c.value for c in at.caption], "an action done clears the selection"
    db.dispose()
