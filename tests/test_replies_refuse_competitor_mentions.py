"""A competitor brand's mention is never answered from our account: a single reply is refused as it is drafted
and again as it is sent (the brand may be marked competitor in between), so is a check-in, and the dashboard
says why instead of offering a reply box. ``{brand}`` is never filled with a competitor's name (a reply to
Rival's customer went out signed "Rival", as Send to all did for an incident until 2026-12-07)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from monitor import followups, presence, replies
from monitor.config import Config
from monitor.models import Brand, CheckIn, Mention, Reply, utcnow
from monitor.storage import Database
from dashboard.context import AppContext
from tests.connector_doubles import RecordingReplyConnector
from tests.principals import ANA
from tests.test_dashboard import _app
from tests.test_dashboard_fixtures import add_mention, dashboard_db

RIVAL = '\n[[brands]]\nname = "Rival"\nkeywords = ["rival"]\ncompetitor = true\n'


def _rival_mention(db: Database, competitor: bool = True) -> tuple[int, int]:
    """A mention of brand Rival; its id and the brand's."""
    with db.write() as session:
        session.add(Brand(key="acme", name="Acme"))
        rival = Brand(key="rival", name="Rival", competitor=competitor)
        session.add(rival)
        session.flush()
        mention = Mention(brand_id=rival.id, platform="scripted", external_id="m1", text="@rival my router died",
                          created_at=utcnow(), replyable=True, raw={}, status="open")
        session.add(mention)
        session.flush()
        return mention.id, rival.id


def test_a_reply_to_a_competitors_mention_is_refused(db: Database, connector: RecordingReplyConnector) -> None:
    mention_id, _ = _rival_mention(db)
    with pytest.raises(replies.CompetitorMention, match="about Rival, a competitor brand: its customers are not ours"):
        replies.draft_reply(db, mention_id, "Sorry! The Rival team", ANA)
    with pytest.raises(replies.CompetitorMention):
        followups.resolve_with_check_in(db, mention_id, "Is everything OK now?", utcnow() + timedelta(days=3), ANA)
    with db.read() as session:
        assert session.scalars(select(Reply)).all() == [] and session.scalars(select(CheckIn)).all() == []
        assert session.get_one(Mention, mention_id).status == "open"


def test_a_draft_made_before_its_brand_was_marked_competitor_is_not_sent(
        db: Database, connector: RecordingReplyConnector) -> None:
    mention_id, rival = _rival_mention(db, competitor=False)
    draft = replies.draft_reply(db, mention_id, "Sorry! We are on it.", ANA)
    with db.write() as session:
        session.execute(update(Brand).where(Brand.id == rival).values(competitor=True))
    with pytest.raises(replies.CompetitorMention):
        presence.send_reply_once(db, draft.id, connector, ANA)
    assert connector.calls == []
    with db.read() as session:
        assert session.get_one(Reply, draft.id).state == "draft"
        assert session.get_one(Mention, mention_id).first_response_at is None


def test_the_dashboard_says_why_instead_of_offering_a_reply_or_a_check_in(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = dashboard_db(tmp_path, monkeypatch, RIVAL)
    _app(db, "lead")  # the dashboard's start-up stores both brands, Rival marked competitor
    with db.read() as session:
        rival = session.scalars(select(Brand.id).where(Brand.name == "Rival")).one()
    m = add_mention(db, brand_id=rival, replyable=True)
    at = _app(db)
    at.multiselect(key="f-brands").select("Rival").run()  # the queue shows a competitor's posts only when picked
    at.button(key=f"open-{m}").click().run()
    assert any("a competitor brand" in i.value for i in at.info)
    assert f"send-{m}" not in [b.key for b in at.button] and f"reply-text-{m}" not in [t.key for t in at.text_area]
    buttons = [b.key for b in at.button]
    assert f"follow-up-{m}" in buttons and f"check-in-{m}" not in buttons  # a follow-up date, but no check-in
    assert not any("Rival" in t.value for t in at.text_area)


def test_brand_is_never_filled_with_a_competitors_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = dashboard_db(tmp_path, monkeypatch)
    config = Config.from_dict({"database": {"url": db.engine.url.render_as_string(hide_password=False)},
                               "brands": [{"name": "Rival", "keywords": ["rival"], "competitor": True},
                                          {"name": "Acme", "keywords": ["acme"]}], "connectors": {"sample": {}}})
    ctx = AppContext(config, db, config.dashboard)
    with db.write() as session:
        rival = Brand(key="rival", name="Rival", competitor=True)
        session.add(rival)
        session.flush()
        rival_id = rival.id
    with db.read() as session:
        mention = session.get_one(Mention, add_mention(db, brand_id=rival_id))
    assert ctx.default_brand == "Acme"  # the first brand of ours, not the competitor listed first
    assert ctx.brand_name(mention) == "Acme"
    assert ctx.competitor_of(mention) == "Rival"
