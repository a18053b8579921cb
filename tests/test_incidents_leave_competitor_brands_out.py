"""A competitor brand's complaints open no incident and raise no chat alert; an incident opened before its
brand was marked competitor takes no more of them, and its *Send to all* is refused: it would answer the
competitor's customers from our account, signed with the competitor's name."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pytest
from sqlalchemy import func, select, update

from monitor.alerts.models import AlertEvent
from monitor.alerts.settings import Target, TargetSettings
from monitor.incidents import (
    IncidentDetector,
    IncidentError,
    IncidentSettings,
    bulk_reply,
    get_incident,
    pack,
)
from monitor.models import Brand, Mention, MentionEmbedding
from monitor.storage import Database
from monitor.templates import ReplyTemplate
from tests.connector_doubles import RecordingReplyConnector
from tests.principals import ANA
from tests.test_incidents import NOW, _around

# Alerts are only queued here, never delivered.
TARGET = Target(TargetSettings(name="care"), "json://127.0.0.1:9/none")
TEMPLATES = [ReplyTemplate("Fix", "Hi {author}, it is fixed now. {brand} support")]


def _brands(db: Database) -> tuple[int, int]:
    with db.write() as session:
        ours, rival = Brand(key="acme", name="Acme"), Brand(key="rival", name="Rival", competitor=True)
        session.add_all([ours, rival])
        session.flush()
        return ours.id, rival.id


def _complaints(db: Database, brand_id: int, vectors: list[np.ndarray], times: list[datetime]) -> list[int]:
    """Replyable complaints from one author each, with the embeddings the classifier would have stored."""
    with db.write() as session:
        first = session.scalar(select(func.count()).select_from(Mention)) or 0
        mentions = [Mention(brand_id=brand_id, platform="scripted", external_id=f"p{first + i}",
                            text=f"the app is down again {first + i}", created_at=at, lang=["en", "es", "fr"][i % 3],
                            author_handle=f"customer{first + i}", author_followers=50, replyable=True, raw={},
                            status="new", sentiment_label="negative", intent="complaint")
                    for i, at in enumerate(times)]
        session.add_all(mentions)
        session.flush()
        session.add_all(MentionEmbedding(mention_id=m.id, vector=pack(vector))
                        for m, vector in zip(mentions, vectors, strict=True))
        return [m.id for m in mentions]


def _burst(db: Database, rng: np.random.Generator, brand_id: int, topic: np.ndarray, count: int = 8,
           start: datetime = NOW - timedelta(minutes=60)) -> list[int]:
    times = [start + timedelta(minutes=5 * i) for i in range(count)]
    return _complaints(db, brand_id, _around(rng, topic, count), times)


def _alerted_brands(db: Database) -> list[int | None]:
    with db.read() as session:
        return list(session.scalars(select(AlertEvent.brand_id).where(AlertEvent.rule == "incident")))


def test_a_burst_of_complaints_about_a_competitor_opens_no_incident_and_no_alert(db: Database) -> None:
    rng = np.random.default_rng(3)
    ours, rival = _brands(db)
    _burst(db, rng, rival, rng.normal(size=384))
    _burst(db, rng, ours, rng.normal(size=384))  # the same kind of burst about our brand is one
    [opened] = IncidentDetector(db, IncidentSettings(), [TARGET]).run(NOW).opened
    assert get_incident(db, opened).brand == "Acme"
    assert _alerted_brands(db) == [ours]


def _incident_then_marked_competitor(db: Database, rng: np.random.Generator, topic: np.ndarray) -> tuple[int, int]:
    """An incident about a brand that the config marks competitor after it opened; its id and the brand's."""
    _, rival = _brands(db)
    with db.write() as session:
        session.execute(update(Brand).where(Brand.id == rival).values(competitor=False))
    _burst(db, rng, rival, topic)
    [incident_id] = IncidentDetector(db, IncidentSettings(), [TARGET]).run(NOW).opened
    with db.write() as session:  # as the next start syncs it from the config
        session.execute(update(Brand).where(Brand.id == rival).values(competitor=True))
    return incident_id, rival


def test_an_incident_of_a_brand_later_marked_competitor_takes_no_more_of_its_complaints(db: Database) -> None:
    rng = np.random.default_rng(4)
    topic = rng.normal(size=384)
    incident_id, rival = _incident_then_marked_competitor(db, rng, topic)
    _burst(db, rng, rival, topic, count=4, start=NOW + timedelta(minutes=5))
    assert IncidentDetector(db, IncidentSettings(), [TARGET]).run(NOW + timedelta(minutes=30)).opened == []
    assert get_incident(db, incident_id).mention_count == 8
    assert _alerted_brands(db) == [rival]  # the one alert from before the flag, no other


def test_send_to_all_is_refused_for_an_incident_of_a_brand_later_marked_competitor(
        db: Database, connector: RecordingReplyConnector) -> None:
    rng = np.random.default_rng(4)
    incident_id, _ = _incident_then_marked_competitor(db, rng, rng.normal(size=384))
    with pytest.raises(IncidentError, match="Rival, a competitor brand"):
        bulk_reply(db, incident_id, "Fix", TEMPLATES, {"scripted": connector}, ANA, "Rival")
    assert connector.calls == []
    assert get_incident(db, incident_id).reply_template is None
