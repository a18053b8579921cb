"""The Incidents page: the summary, one bulk reply for every affected mention, resolving; check-ins to approve."""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("streamlit", reason="the dashboard needs streamlit: pip install 'mentiondesk[dashboard]'")

from sqlalchemy import select  # noqa: E402

from dashboard.safe import md_escape  # noqa: E402
from monitor.access import Role  # noqa: E402
from monitor.incidents import IncidentDetector, IncidentSettings, incident_mentions, pack  # noqa: E402
from monitor.models import Incident, MentionEmbedding, Reply, ReplyState, utcnow  # noqa: E402
from tests.principals import ANA  # noqa: E402
from tests.test_dashboard_fixtures import add_brand, add_mention, dashboard_db, signed_in_app  # noqa: E402

HOSTILE = '<img src=x onerror="alert(1)"> the app logs me out **constantly**'


def test_incidents_page_summarises_replies_to_all_once_and_resolves(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = dashboard_db(tmp_path, monkeypatch,
                       '[[reply_templates]]\nname = "Login fix"\nbody = "Hi {author}, version 4.2.1 fixes it. {brand}"\n'
                       '[[reply_templates]]\nname = "Login fix"\nlang = "es"\n'
                       'body = "Hola {author}, la versión 4.2.1 lo corrige. {brand}"\n')
    brand = add_brand(db, "Acme")
    rng = np.random.default_rng(1)
    topic = rng.normal(size=384)
    now = utcnow()
    ids = [add_mention(db, brand_id=brand, text=HOSTILE if i == 0 else f"logged out again {i}", lang=("en", "es", "fr")[i % 3],
                       created_at=now - timedelta(minutes=5 * i), replyable=True, sentiment_label="negative",
                       intent="complaint", author_name=f"Author {i}") for i in range(7)]
    with db.write() as session:
        for i in ids:
            session.add(MentionEmbedding(mention_id=i, vector=pack(topic + 0.3 * rng.normal(size=384) / np.sqrt(384))))
    [incident_id] = IncidentDetector(db, IncidentSettings()).run().opened

    at = signed_in_app(db, "ana", Role.AGENT)
    at.switch_page("pages/incidents.py").run()
    assert not at.exception, at.exception
    assert at.expander[0].label.startswith(f"#{incident_id} · Acme · 7 mentions")
    assert {m.label: m.value for m in at.metric}["Mentions"] == "7"
    assert not any("onerror" in str(md.value) for md in at.markdown), "mention text is never Markdown"
    at.button(key=f"incident-send-{incident_id}").click().run()
    assert not at.exception, at.exception
    assert any("Sent 7" in s.value for s in at.success)
    at.button(key=f"incident-send-{incident_id}").click().run()
    assert any("Sent 0 (already sent before: 7)" in s.value for s in at.success)
    with db.read() as session:
        sent = session.scalars(select(Reply).where(Reply.state == ReplyState.SENT.value)).all()
        assert sorted(r.mention_id for r in sent) == sorted(ids)
        spanish = [r.body for r in sent if r.body.startswith("Hola")]
        assert len(spanish) == 2 and all(b.endswith("Acme") for b in spanish)
    at.button(key=f"incident-resolve-{incident_id}").click().run()
    assert not at.exception, at.exception
    with db.read() as session:
        assert session.get(Incident, incident_id).status == "resolved"
    # Said after the rerun that drops the incident from the list (a message drawn before it was wiped).
    assert [s.value for s in at.success] == [f"Resolved incident #{incident_id}, with 7 mention(s)."]

    viewer = signed_in_app(db, "vic", Role.VIEWER)
    viewer.switch_page("pages/incidents.py").run()
    assert not viewer.exception and viewer.info[0].value.startswith("No open incidents")
    assert not [b for b in viewer.button if b.key and b.key.startswith("incident-")]
    db.dispose()


def test_reply_box_suggests_replies_and_a_mention_can_wait_for_a_follow_up(tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from dashboard import followup_panel

    # The panel's "tomorrow" and the check below read one clock: UTC midnight passing between the
    # panel's draw and the check made them two different days.
    now = utcnow()
    monkeypatch.setattr(followup_panel, "utcnow", lambda: now)
    db = dashboard_db(tmp_path, monkeypatch)
    m = add_mention(db, text="¡Me encanta, muchas gracias por el servicio!", lang="es", author_name="Lucía", priority=50.0)
    # The model loads once per process: here, not in the page's 60 s run, which the one-off conversion
    # outlasted where no earlier test had loaded it (this file alone, or first).
    from sentiment import embed

    embed(["warm up"])
    at = signed_in_app(db, "ana", Role.AGENT)
    at.button(key=f"open-{m}").click().run()
    at.button(key=f"suggest-{m}").click().run()
    assert not at.exception, at.exception
    captions = [c.value for c in at.caption if c.value.startswith("template: ")]
    assert len(captions) == 3 and captions[0].startswith("template: Thanks")  # the default templates
    at.button(key=f"use-suggestion-{m}-0").click().run()
    assert at.text_area(key=f"reply-text-{m}").value == "Thank you Lucía! The Acme team is glad to hear it."

    at.button(key=f"follow-up-{m}").click().run()  # tomorrow, 09:00 UTC
    assert not at.exception, at.exception
    with db.read() as session:
        from monitor.models import FollowUp, Mention

        assert session.get(Mention, m).status == "pending"
        assert session.get(FollowUp, m).due_at == datetime.combine((now + timedelta(days=1)).date(), time(9),
                                                                   timezone.utc)
    db.dispose()


def test_a_check_in_too_long_for_the_platform_is_refused_when_scheduled(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from monitor.models import CheckIn, Mention

    db = dashboard_db(tmp_path, monkeypatch)
    m = add_mention(db, status="open")
    at = signed_in_app(db, "ana", Role.AGENT)
    at.button(key=f"open-{m}").click().run()
    at.text_area(key=f"check-in-body-{m}").input("all good now? " * 100).run()  # 1,400 characters; the limit 1,000
    at.button(key=f"check-in-{m}").click().run()
    assert any("1000" in e.value.replace(",", "") for e in at.error), [e.value for e in at.error]
    with db.read() as session:  # refused days later at approval before; now nothing changes
        assert session.get_one(Mention, m).status == "open" and session.scalars(select(CheckIn)).all() == []


def test_resolving_with_a_check_in_waits_for_an_agent_to_approve_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from monitor import followups
    from monitor.models import CheckIn, Mention

    db = dashboard_db(tmp_path, monkeypatch,
                       '[[reply_templates]]\nname = "Check-in"\nbody = "Hi {author}, all good now? {brand}"\n'
                       '[[reply_templates]]\nname = "Check-in"\nlang = "es"\nbody = "Hola {author}, ¿todo bien ya? {brand}"\n')
    m = add_mention(db, brand_id=add_brand(db, "Globex"), text="la app no funciona", lang="es", author_name="Lucía",
                    status="open")
    at = signed_in_app(db, "ana", Role.AGENT)
    at.button(key=f"open-{m}").click().run()
    assert at.text_area(key=f"check-in-body-{m}").value == "Hola Lucía, ¿todo bien ya? Globex"  # her language and brand
    at.button(key=f"check-in-{m}").click().run()
    assert not at.exception, at.exception
    with db.read() as session:
        assert session.get(Mention, m).status == "resolved"
        [check_in] = session.scalars(select(CheckIn)).all()
        assert check_in.state == "scheduled" and check_in.scheduled_by == "ana"

    at.switch_page("pages/incidents.py").run()
    assert not [b for b in at.button if b.key and b.key.startswith("check-in-approve-")], "not due yet"
    followups.run_due(db, utcnow() + timedelta(days=4))  # the worker's tick, once the date has passed
    at.run()
    at.button(key=f"check-in-approve-{check_in.id}").click().run()
    assert not at.exception, at.exception
    assert [s.value for s in at.success] == ["Sent."]
    at.run()
    assert not [b for b in at.button if b.key and b.key.startswith("check-in-approve-")], "sent once, gone from the list"
    with db.read() as session:
        sent = session.scalars(select(Reply).where(Reply.mention_id == m)).all()
        assert [(r.state, r.body) for r in sent] == [("sent", "Hola Lucía, ¿todo bien ya? Globex")]
    db.dispose()


def test_cancelling_a_check_in_a_colleague_cancelled_meanwhile_says_so(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from monitor import followups
    from monitor.models import CheckIn

    db = dashboard_db(tmp_path, monkeypatch)
    m = add_mention(db, status="open")
    followups.resolve_with_check_in(db, m, "All good now?", utcnow() + timedelta(hours=1), ANA)
    followups.run_due(db, utcnow() + timedelta(days=1))
    at = signed_in_app(db, "ben", Role.AGENT)
    at.switch_page("pages/incidents.py").run()
    with db.read() as session:
        [check_in] = session.scalars(select(CheckIn)).all()
    listed = followups.check_ins

    def listed_then_cancelled_by_ana(db_: object) -> object:
        due = listed(db_)
        followups.cancel_check_in(db, check_in.id, ANA)  # between the page listing it and Ben's click landing
        return due

    monkeypatch.setattr(followups, "check_ins", listed_then_cancelled_by_ana)
    at.button(key=f"check-in-cancel-{check_in.id}").click().run()
    assert not at.exception, at.exception  # was a FollowUpError traceback
    assert [e.value for e in at.error] == [md_escape(f"check-in {check_in.id} is cancelled and cannot be cancelled")]
    with db.read() as session:
        assert session.get_one(CheckIn, check_in.id).state == "cancelled"
    db.dispose()


def test_an_incident_opened_twice_is_merged_into_the_other_from_its_card(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    db = dashboard_db(tmp_path, monkeypatch)
    brand = add_brand(db, "Acme")
    rng = np.random.default_rng(2)
    now = utcnow()
    link_broken, unrelated = rng.normal(size=384), rng.normal(size=384)
    error_page = rng.normal(size=384) + 0.35 * link_broken  # the same problem, worded another way
    groups = []
    for k, (text, topic) in enumerate((("tracking link broken", link_broken), ("tracking page <b>error 500</b>", error_page),
                                       ("refund never arrived", unrelated))):
        groups.append(ids := [add_mention(db, brand_id=brand, text=f"{text} {i}", created_at=now - timedelta(minutes=5 * i + k),
                           sentiment_label="negative", intent="complaint") for i in range(6)])
        with db.write() as session:
            for i in ids:
                session.add(MentionEmbedding(mention_id=i, vector=pack(topic + 0.3 * rng.normal(size=384) / np.sqrt(384))))
    opened = IncidentDetector(db, IncidentSettings()).run().opened
    first, second, third = (next(i for i in opened if incident_mentions(db, i)[0].id in ids) for ids in groups)

    at = signed_in_app(db, "ana", Role.AGENT)
    at.switch_page("pages/incidents.py").run()
    assert not at.exception, at.exception
    choice = at.selectbox(key=f"incident-merge-target-{second}")
    assert choice.options[0].startswith(f"#{first} · similarity ") and choice.options[1].startswith(f"#{third} · ")
    assert choice.value == first, "the most alike is offered first"
    at.button(key=f"incident-merge-{second}").click().run()
    assert not at.exception, at.exception
    assert [s.value for s in at.success] == [f"Merged incident #{second}: 6 mention(s) moved to incident #{first}."]
    assert {e.label for e in at.expander} == {f"#{first} · Acme · 12 mentions · en 12 · open",
                                              f"#{third} · Acme · 6 mentions · en 6 · open"}
    with db.read() as session:
        assert session.get(Incident, second).status == "merged"
    at.toggle(key="incidents-resolved").set_value(True).run()
    assert any(f"Merged into incident #{first}" in c.value for c in at.caption)
    assert not [b for b in at.button if b.key == f"incident-merge-{second}"], "a merged incident takes no action"

    viewer = signed_in_app(db, "vic", Role.VIEWER)
    viewer.switch_page("pages/incidents.py").run()
    assert not [b for b in viewer.button if b.key and b.key.startswith("incident-merge-")]
    db.dispose()
