"""The dashboard's pages under Streamlit's AppTest: queue, filters, triage, replies, SLA, activity."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

pytest.importorskip("streamlit", reason="the dashboard needs streamlit: pip install 'mentiondesk[dashboard]'")
from streamlit.testing.v1 import AppTest  # noqa: E402

from dashboard.context import TOKEN_KEY  # noqa: E402
from dashboard.safe import md_escape  # noqa: E402
from monitor import audit  # noqa: E402
from monitor.models import Brand, Mention, Reply, utcnow  # noqa: E402
from monitor.replies import draft_reply, send_reply  # noqa: E402
from monitor.storage import Database  # noqa: E402
from monitor.access import Role  # noqa: E402
from tests.principals import ADMIN, BEN  # noqa: E402
from tests.test_dashboard_fixtures import (APP, PASSWORD, add_brand, add_mention, add_user, dashboard_db,  # noqa: E402
                                          listed, session_token, signed_in_app)

HOSTILE = ("<script>alert('x')</script> **bold** [click](javascript:alert(1)) <img src=x onerror=alert(1)> "
           "مرحبا بالعالم \u202eevil\u202c zero\u200bwidth\u200d ") + "A" * 10_000


@pytest.fixture
def app_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Database]:
    db_path = tmp_path / "dash.db"
    config = tmp_path / "mentiondesk.toml"
    config.write_text(
        f'[database]\nurl = "sqlite:///{db_path}"\n\n[[brands]]\nname = "Acme"\nkeywords = ["acme"]\n\n'
        '[connectors.sample]\n\n[connectors.x]\napi_base_url = "http://127.0.0.1:9"\n', encoding="utf-8")
    monkeypatch.setenv("MENTIONDESK_CONFIG", str(config))
    monkeypatch.setenv("MENTIONDESK_X_BEARER_TOKEN", "test-token")
    db = Database.open(f"sqlite:///{db_path}")
    db.upgrade()
    yield db
    db.dispose()


def _app(db: Database, user: str = "ana", role: Role = Role.AGENT) -> AppTest:
    """The dashboard in a browser session signed in as ``user`` (through the real sign-in service)."""
    at = signed_in_app(db, user, role)
    assert not at.exception, at.exception
    return at


def _html(at: AppTest) -> str:
    return "\n".join(h.proto.body for h in at.get("html"))


def _mention(db: Database, mention_id: int) -> Mention:
    with db.read() as session:
        m = session.get(Mention, mention_id)
        assert m is not None
        return m


def test_queue_lists_open_work_most_urgent_first_and_filters(app_db: Database) -> None:
    low = add_mention(app_db, priority=10.0, text="slow delivery again")
    high = add_mention(app_db, priority=90.0, text="refund please", sentiment_label="negative", sentiment_score=0.93)
    add_mention(app_db, priority=99.0, status="resolved", text="old news")
    at = _app(app_db)
    opens = [b.key for b in at.button if b.key.startswith("open-")]
    assert opens == [f"open-{high}", f"open-{low}"]
    assert "2 mention(s) match" in at.caption[0].value
    assert "sentiment negative 93%" in _html(at)
    at.text_input(key="f-text").input("DELIVERY").run()
    assert [b.key for b in at.button if b.key.startswith("open-")] == [f"open-{low}"]
    at.text_input(key="f-text").input("").run()
    at.multiselect(key="f-statuses").select("resolved").run()
    assert "old news" in _html(at) and "refund please" not in _html(at)



def test_a_search_or_date_range_no_query_can_take_is_a_message_not_a_crash(app_db: Database) -> None:
    add_mention(app_db, text="refund please")
    at = _app(app_db)
    at.text_input(key="f-text").input("ref\x00und").run()  # a SQL error quoting the query before
    assert not at.exception and at.error and "search" in at.error[0].value.lower(), [e.value for e in at.error]
    at.text_input(key="f-text").input("").run()
    at.date_input(key="f-dates").set_value((date(2026, 1, 1), date.max)).run()  # the day after it overflowed
    assert not at.exception, at.exception
    assert "refund please" in _html(at)


def test_pages_follow_a_cursor_forwards_and_back(app_db: Database) -> None:
    for i in range(30):
        add_mention(app_db, priority=float(i))
    at = _app(app_db)
    first = [b.key for b in at.button if b.key.startswith("open-")]
    assert len(first) == 25
    at.button(key="page-next").click().run()
    second = [b.key for b in at.button if b.key.startswith("open-")]
    assert len(second) == 5 and not set(first) & set(second)
    at.button(key="page-prev").click().run()
    assert [b.key for b in at.button if b.key.startswith("open-")] == first


def test_triage_from_the_open_mention_is_recorded_with_the_user(app_db: Database) -> None:
    m = add_mention(app_db, priority=50.0, sentiment_label="positive", intent="praise")
    at = _app(app_db)
    at.button(key=f"open-{m}").click().run()
    at.button(key=f"assign-me-{m}").click().run()
    assert (_mention(app_db, m).assignee, _mention(app_db, m).status) == ("ana", "open")
    at.selectbox(key=f"status-{m}").select("pending").run()
    at.button(key=f"set-status-{m}").click().run()
    at.text_input(key=f"tag-{m}").input("Billing").run()
    at.button(key=f"add-tag-{m}").click().run()
    at.selectbox(key=f"relabel-sentiment-{m}").select("negative").run()
    at.button(key=f"relabel-{m}").click().run()
    at.text_area(key=f"note-{m}").input("Customer called")
    at.button(key=f"FormSubmitter:note-form-{m}-Add note").click().run()
    assert not at.exception, at.exception
    mention = _mention(app_db, m)
    assert (mention.status, [t.tag for t in mention.tags], mention.human_sentiment_label) == ("pending", ["billing"], "negative")
    with app_db.read() as session:
        actions = [(e.actor, e.action) for e in reversed(audit.entries(session, ADMIN, m))]
    assert actions == [("ana", "triage.assign"), ("ana", "triage.status"), ("ana", "triage.tag"),
                       ("ana", "triage.relabel"), ("ana", "triage.note")]
    assert "Customer called" in _html(at)


def test_bulk_actions_apply_to_the_selection(app_db: Database) -> None:
    a, b, untouched = add_mention(app_db), add_mention(app_db), add_mention(app_db)
    at = _app(app_db)
    at.checkbox(key=f"sel-{a}").check().run()
    at.checkbox(key=f"sel-{b}").check().run()
    at.selectbox(key="bulk-status").select("spam").run()
    at.button(key="bulk-apply-status").click().run()
    assert [_mention(app_db, i).status for i in (a, b, untouched)] == ["spam", "spam", "new"]
    assert any("status spam: 2 mention(s)" in s.value for s in at.success)


def test_reply_with_a_template_needs_the_order_number_and_posts_once(app_db: Database) -> None:
    m = add_mention(app_db, priority=80.0, author_name="Dana")
    at = _app(app_db)
    at.button(key=f"open-{m}").click().run()
    at.selectbox(key=f"template-{m}").select("Order follow-up").run()
    assert "[order number]" in at.text_area(key=f"reply-text-{m}").value
    at.button(key=f"send-{m}").click().run()
    # Messages are Markdown-escaped (they can carry platform errors): shown as typed.
    assert [e.value for e in at.error] == [md_escape("the reply still says [order number]: fill it in before sending")]
    with app_db.read() as session:
        assert session.scalars(select(Reply).where(Reply.mention_id == m)).all() == []  # not even a draft
    at.text_input(key=f"order-{m}").input("A-1001").run()
    text = at.text_area(key=f"reply-text-{m}").value
    assert text.startswith("Hi Dana,") and "A-1001" in text and "Acme support" in text
    assert "Preview" in [c.value for c in at.caption]
    at.button(key=f"send-{m}").click().run()
    assert not at.exception, at.exception
    assert [s.value for s in at.success] == [md_escape("Reply posted.")]
    assert at.text_area(key=f"reply-text-{m}").value == ""
    at.button(key=f"send-{m}").click().run()  # a second click finds nothing left to send
    assert [e.value for e in at.error] == [md_escape("a reply cannot be empty")]
    with app_db.read() as session:
        sent = session.scalars(select(Reply).where(Reply.mention_id == m)).all()
    assert [(r.state, r.author) for r in sent] == [("sent", "ana")]
    assert _mention(app_db, m).first_response_at is not None


def test_a_template_names_the_brand_the_mention_is_about(app_db: Database) -> None:
    m = add_mention(app_db, brand_id=add_brand(app_db, "Globex"), author_name="Ines")
    at = _app(app_db)
    at.button(key=f"open-{m}").click().run()
    at.selectbox(key=f"template-{m}").select("Thanks").run()
    assert at.text_area(key=f"reply-text-{m}").value == "Thank you Ines! The Globex team is glad to hear it."


def test_others_on_the_same_mention_are_shown_and_our_own_draft_is_announced(app_db: Database) -> None:
    from monitor import presence
    from monitor.presence import Activity

    m = add_mention(app_db)
    presence.touch(app_db, m, "ben", Activity.DRAFTING)  # ben, in another browser
    at = _app(app_db)
    at.button(key=f"open-{m}").click().run()
    assert [w.value for w in at.warning if "ben" in w.value] == ["ben is drafting a reply"]
    at.text_area(key=f"reply-text-{m}").input("On it!").run()
    with app_db.read() as session:
        assert [(p.user, p.activity) for p in presence.others(session, m, "ben")] == [("ana", "drafting")]


def test_the_filtered_view_downloads_as_csv(app_db: Database) -> None:
    add_mention(app_db, lang="es")
    add_mention(app_db, lang="es")
    add_mention(app_db, lang="en")
    at = _app(app_db)
    at.text_input(key="f-langs").input("es").run()
    at.button(key="queue-export").click().run()
    assert not at.exception, at.exception
    assert [d.label for d in at.get("download_button")] == ["Download 2 mentions (CSV)"]


def test_someone_elses_reply_blocks_a_second_one_until_acknowledged(app_db: Database) -> None:
    from connectors.sample import SampleConnector, SampleSettings

    m = add_mention(app_db)
    at = _app(app_db)
    at.button(key=f"open-{m}").click().run()
    # ben replies from another session while ana is drafting.
    bens = draft_reply(app_db, m, "ben's answer", author=BEN)
    send_reply(app_db, bens.id, SampleConnector(SampleSettings()), BEN)
    at.text_area(key=f"reply-text-{m}").input("ana's answer").run()
    at.button(key=f"send-{m}").click().run()
    assert any("ben has already replied" in e.value for e in at.error)
    with app_db.read() as session:
        assert [r.author for r in session.scalars(select(Reply).where(Reply.state == "sent"))] == ["ben"]
    at.checkbox(key=f"ack-box-{m}-{bens.id}").check().run()  # the tick names the reply read
    at.button(key=f"send-{m}").click().run()
    with app_db.read() as session:
        assert sorted(r.author for r in session.scalars(select(Reply).where(Reply.state == "sent"))) == ["ana", "ben"]


def test_an_x_keyword_mention_offers_the_link_instead_of_a_reply_box(app_db: Database) -> None:
    m = add_mention(app_db, platform="x", replyable=False, url="https://x.com/someone/status/1")
    at = _app(app_db)
    at.button(key=f"open-{m}").click().run()
    assert any("matched a keyword" in w.value for w in at.warning)
    assert f"send-{m}" not in [b.key for b in at.button]
    assert "https://x.com/someone/status/1" in [lb.proto.url for lb in at.get("link_button")]


def test_hostile_text_renders_as_plain_text(app_db: Database) -> None:
    m = add_mention(app_db, text=HOSTILE, author_name="<b>Eve</b>", url="javascript:alert(1)")
    at = _app(app_db)
    at.button(key=f"open-{m}").click().run()
    assert not at.exception, at.exception
    page = _html(at)
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page and "<script" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page and "<img" not in page
    assert "&lt;b&gt;Eve&lt;/b&gt;" in page
    assert "A" * 10_000 in page  # the open mention shows all of it, in a scrolling box
    assert "\u202eevil" in page and "zero\u200bwidth" in page
    assert not [lb for lb in at.get("link_button") if "javascript" in lb.proto.url]
    assert all("javascript:alert(1)" not in md.value for md in at.markdown)


def test_sla_and_activity_pages(app_db: Database) -> None:
    m = add_mention(app_db, priority=90.0)
    at = _app(app_db, "ana", Role.ADMIN)
    at.button(key=f"open-{m}").click().run()
    at.button(key=f"assign-me-{m}").click().run()
    at.switch_page("pages/sla.py").run()
    assert not at.exception, at.exception
    assert {x.label for x in at.metric} >= {"At risk or overdue now", "Average first response", "90th percentile"}
    assert [x.value for x in at.metric if x.label == "At risk or overdue now"] == ["1"]
    at.switch_page("pages/activity.py").run()
    assert not at.exception, at.exception
    rows = at.dataframe[0].value
    assert (rows.iloc[0]["who"], rows.iloc[0]["action"]) == ("ana", "triage.assign")  # newest first
    assert ("ana", "auth.sign_in") in set(zip(rows["who"], rows["action"]))
    # The dashboard loaded the config's brand as a setting change.
    assert ("config", "settings.brand") in set(zip(rows["who"], rows["action"]))


def test_a_send_with_an_unknown_outcome_is_checked_by_a_person_then_retried_and_posted_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tomli_w

    from connectors.emulators import DEMO_X_HANDLE, demo_connector_settings, start_emulators
    from tests.emulator_fixtures import BACKLOG_END

    with start_emulators(seed=7, backlog=5, backlog_end=BACKLOG_END) as running:
        settings = demo_connector_settings(running)
        config = tmp_path / "mentiondesk.toml"
        config.write_text(tomli_w.dumps({"database": {"url": f"sqlite:///{tmp_path / 'dash.db'}"},
                                         "brands": [settings["brand"]],
                                         "connectors": {"x": {**settings["connectors"]["x"], "max_retries": 0}}}))
        for name, value in settings["env"].items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("MENTIONDESK_CONFIG", str(config))
        db = Database.open(f"sqlite:///{tmp_path / 'dash.db'}")
        db.upgrade()
        post = running.x.add_post(f"@{DEMO_X_HANDLE} is the app down?", username="worried")
        m = add_mention(db, platform="x", external_id=post, replyable=True, author_handle="worried")
        at = _app(db)
        at.button(key=f"open-{m}").click().run()
        running.x.inject("server_error", status=504, path_contains="/2/tweets")  # the answer to the post is lost
        at.text_area(key=f"reply-text-{m}").input("Not down: we are checking for you").run()
        at.button(key=f"send-{m}").click().run()
        assert not at.exception, at.exception
        with db.read() as session:
            [reply] = session.scalars(select(Reply).where(Reply.mention_id == m)).all()
        assert reply.state == "sending" and "504" in (reply.error or "")
        assert not [b for b in at.button if b.key == f"retry-{reply.id}"], "never retried blindly"
        at.button(key=f"notposted-{reply.id}").click().run()  # a person looked: not on X
        at.button(key=f"retry-{reply.id}").click().run()
        assert not at.exception, at.exception
        assert [s.value for s in at.success] == [md_escape("Reply posted.")]
        assert [r["text"] for r in running.x.replies_to(post)] == ["Not down: we are checking for you"]
        at.run()
        assert not [b for b in at.button if b.key and b.key.startswith(("retry-", "posted-", "notposted-"))]
        db.dispose()


def test_on_an_approval_brand_an_agents_reply_waits_until_an_admin_approves_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = dashboard_db(tmp_path, monkeypatch, brand_settings="reply_approval = true\n")
    m = add_mention(db, brand_id=add_brand(db, "Acme"))
    ana = _app(db, "ana", Role.AGENT)
    ana.button(key=f"open-{m}").click().run()
    ana.text_area(key=f"reply-text-{m}").input("We are on it").run()
    ana.button(key=f"send-{m}").click().run()
    assert not ana.exception, ana.exception
    with db.read() as session:
        [reply] = session.scalars(select(Reply).where(Reply.mention_id == m)).all()
    assert reply.state == "draft" and any("waits for approval" in e.value for e in ana.error)
    assert not [b for b in ana.button if b.key == f"approve-{reply.id}"], "its author cannot approve it"

    lead = _app(db, "lead", Role.ADMIN)
    lead.button(key=f"open-{m}").click().run()
    lead.button(key=f"approve-{reply.id}").click().run()
    lead.button(key=f"send-approved-{reply.id}").click().run()
    assert not lead.exception, lead.exception
    with db.read() as session:
        assert session.get(Reply, reply.id).state == "sent"
    db.dispose()


def _open_mention(at: AppTest) -> list[str]:
    return [s.value for s in at.subheader if s.value.startswith("Mention ")]


def test_a_chat_alerts_link_opens_its_mention_once(app_db: Database) -> None:
    for _ in range(30):
        add_mention(app_db, priority=95.0)
    alerted = add_mention(app_db, priority=10.0, text="I am calling my lawyer about this refund")
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state[TOKEN_KEY] = session_token(app_db, "ana")
    at.query_params["mention"] = str(alerted)  # what the alert's dashboard_item_url opens
    at.run()
    assert not at.exception, at.exception
    assert _open_mention(at) == [f"Mention {alerted}"], "opened, though it is not on the first page"
    assert f"open-{alerted}" not in listed(at) and "mention" not in at.query_params
    other = int(listed(at)[0].removeprefix("open-"))
    at.button(key=f"open-{other}").click().run()
    assert _open_mention(at) == [f"Mention {other}"], "the link does not take the detail back"
    at.query_params["mention"] = "999999"
    at.run()
    assert _open_mention(at) == [f"Mention {other}"] and "mention" not in at.query_params
    assert [w.value for w in at.warning] == ["The link's mention 999999 is not here: it was deleted, "
                                             "or the link is wrong."]


def test_an_order_number_typed_after_editing_the_reply_keeps_the_edits(app_db: Database) -> None:
    m = add_mention(app_db, priority=80.0, author_name="Carla")
    at = _app(app_db)
    at.button(key=f"open-{m}").click().run()
    at.selectbox(key=f"template-{m}").select("Order follow-up").run()
    edited = at.text_area(key=f"reply-text-{m}").value + " So sorry it is late, Carla: the courier is on it."
    at.text_area(key=f"reply-text-{m}").input(edited).run()
    at.text_input(key=f"order-{m}").input("A-1243").run()
    assert at.text_area(key=f"reply-text-{m}").value == edited.replace("[order number]", "A-1243")
    at.text_input(key=f"order-{m}").input("A-1234").run()  # a typo put right
    assert at.text_area(key=f"reply-text-{m}").value == edited.replace("[order number]", "A-1234")
    # Where the number stands twice, which one is the order's is a guess: the text is left as the agent has it.
    twice = at.text_area(key=f"reply-text-{m}").value + " (A-1234 is the one on your receipt.)"
    at.text_area(key=f"reply-text-{m}").input(twice).run()
    at.text_input(key=f"order-{m}").input("A-9").run()
    assert at.text_area(key=f"reply-text-{m}").value == twice
    assert not at.exception, at.exception


def test_a_half_typed_reply_and_the_filters_are_there_on_coming_back(app_db: Database) -> None:
    a = add_mention(app_db, priority=90.0, text="refund please, order late")
    b = add_mention(app_db, priority=80.0, text="refund for my other order")
    add_mention(app_db, priority=70.0, text="love the product")
    at = _app(app_db)
    at.selectbox(key="view").select("Unassigned").run()
    at.text_input(key="f-text").input("refund").run()
    at.button(key=f"open-{a}").click().run()
    at.selectbox(key=f"template-{a}").select("Order follow-up").run()
    at.text_input(key=f"order-{a}").input("A-77").run()
    draft = at.text_area(key=f"reply-text-{a}").value + " We are on it"
    at.text_area(key=f"reply-text-{a}").input(draft).run()
    at.button(key=f"open-{b}").click().run()  # a look at another mention
    at.button(key=f"open-{a}").click().run()
    assert at.text_area(key=f"reply-text-{a}").value == draft and at.text_input(key=f"order-{a}").value == "A-77"
    at.switch_page("pages/sla.py").run()
    at.switch_page("pages/queue.py").run()
    assert not at.exception, at.exception
    assert (at.selectbox(key="view").value, at.text_input(key="f-text").value) == ("Unassigned", "refund")
    assert listed(at) == [f"open-{a}", f"open-{b}"]
    assert at.text_area(key=f"reply-text-{a}").value == draft
    assert at.selectbox(key=f"template-{a}").value == "Order follow-up"


def test_sidebar_filters_narrow_a_saved_view_and_never_widen_it(app_db: Database) -> None:
    mine = add_mention(app_db, assignee="ana", intent="complaint", status="open", priority=90.0)
    add_mention(app_db, assignee="ben", intent="complaint", status="open", priority=80.0)
    my_question = add_mention(app_db, assignee="ana", intent="question", status="open", priority=70.0)
    at = _app(app_db)
    at.selectbox(key="view").select("My open complaints").run()
    assert listed(at) == [f"open-{mine}"]
    at.multiselect(key="f-intents").select("question").run()  # the view keeps complaints only
    assert listed(at) == [] and "0 mention(s) match" in at.caption[0].value
    assert any("sets Intent itself" in w.value for w in at.warning), [w.value for w in at.warning]
    at.multiselect(key="f-intents").select("complaint").run()  # complaints or questions: the complaints
    assert listed(at) == [f"open-{mine}"] and not at.warning
    at.multiselect(key="f-intents").set_value([]).run()
    at.selectbox(key="f-assignee").select("unassigned").run()  # the view's are all mine
    assert listed(at) == []
    at.selectbox(key="f-assignee").select("anyone").run()
    at.selectbox(key="view").select("All open").run()
    at.multiselect(key="f-intents").select("question").run()  # a view that leaves a filter open
    assert listed(at) == [f"open-{my_question}"]
    assert not at.exception, at.exception


def _sla_badges(at: AppTest) -> list[str]:
    return re.findall(r'<span class="md-sla[^"]*"[^>]*>([^<]*)</span>', _html(at))


def test_a_mention_closed_without_a_reply_has_no_overdue_badge(app_db: Database) -> None:
    now = utcnow()
    add_mention(app_db, status="spam", priority=50.0, created_at=now - timedelta(days=40))
    add_mention(app_db, status="resolved", priority=40.0, created_at=now - timedelta(days=3))
    add_mention(app_db, status="resolved", priority=30.0, created_at=now - timedelta(days=3),
                first_response_at=now - timedelta(days=2))
    at = _app(app_db)
    at.multiselect(key="f-statuses").select("spam").select("resolved").run()
    assert _sla_badges(at) == ["SLA: closed, no reply", "SLA: closed, no reply", "SLA normal: met"]


def test_a_post_dated_a_little_ahead_reads_just_now(app_db: Database) -> None:
    add_mention(app_db, priority=50.0, created_at=utcnow() + timedelta(hours=5))
    at = _app(app_db)
    assert re.findall(r' UTC">([^<]*)</span>', _html(at)) == ["just now"]


def test_the_tag_button_is_never_drawn_disabled_and_says_why_it_tags_nothing(app_db: Database) -> None:
    # In a browser the box hands its text over only as it loses focus, on the click itself: a button
    # drawn disabled for the empty box swallowed that click (tests/test_browser.py types and clicks).
    m = add_mention(app_db, priority=50.0)
    at = _app(app_db)
    at.button(key=f"open-{m}").click().run()
    assert not at.button(key=f"add-tag-{m}").disabled and not at.button(key="bulk-add-tag").disabled
    at.button(key=f"add-tag-{m}").click().run()
    assert [e.value for e in at.error] == ["Nothing tagged: " + md_escape("a tag cannot be empty")]
    at.text_input(key="bulk-tag").input("billing").run()
    at.button(key="bulk-add-tag").click().run()
    assert [w.value for w in at.warning] == ["Nothing tagged: tick the mentions to tag first."]


def test_an_empty_brands_picker_on_analytics_leaves_competitors_to_share_of_voice(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = dashboard_db(tmp_path, monkeypatch, '[[brands]]\nname = "Rival"\nkeywords = ["rival"]\ncompetitor = true\n')
    at = _app(db)  # the dashboard stores the configured brands
    with db.read() as session:
        ids = {key: brand_id for key, brand_id in session.execute(select(Brand.key, Brand.id))}
    now = utcnow()
    for hours in (1, 2):
        add_mention(db, brand_id=ids["acme"], created_at=now - timedelta(hours=hours))
    for hours in range(1, 9):
        add_mention(db, brand_id=ids["rival"], created_at=now - timedelta(hours=hours))
    at.switch_page("pages/analytics.py").run()
    assert {x.label: x.value for x in at.metric}["Mentions"] == "2"
    at.multiselect(key="an-brands").set_value([]).run()
    assert not at.exception, at.exception
    assert {x.label: x.value for x in at.metric}["Mentions"] == "2"
    db.dispose()


def test_who_signs_in_after_a_sign_out_gets_none_of_the_last_users_drafts_filters_or_ticks(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # ben saw ana's search, her ticked mention and her unsent draft, and his first bulk click set her
    # ticked mention to spam.
    db = dashboard_db(tmp_path, monkeypatch)
    refund = add_mention(db, priority=90.0, text="refund please")
    add_mention(db, priority=80.0, text="another one")
    add_user(db, "ben", Role.AGENT)
    at = signed_in_app(db, "ana")
    at.text_input(key="f-text").input("refund").run()
    at.checkbox(key=f"sel-{refund}").check().run()
    at.button(key=f"open-{refund}").click().run()
    at.text_area(key=f"reply-text-{refund}").input("PRIVATE draft by ana").run()
    at.button(key="sign-out").click().run()
    at.text_input(key="sign-in-name").input("ben")
    at.text_input(key="sign-in-password").input(PASSWORD)
    at.button[0].click().run()  # the form's submit button
    assert not at.exception, at.exception
    assert at.text_input(key="f-text").value == ""
    assert not [c.value for c in at.caption if re.fullmatch(r"[1-9]\d* selected.*", c.value)]
    at.button(key=f"open-{refund}").click().run()
    assert at.text_area(key=f"reply-text-{refund}").value == ""
    assert at.button(key="bulk-apply-status").disabled  # nothing of ana's is ticked for him to act on
