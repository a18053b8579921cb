"""A post in one brand's incident that ingest then moves to another brand (a copy fetched for that brand
@mentions its account) leaves the incident: the first brand's *Send to all* no longer answers it signed as
itself, and the new brand's burst of the same complaint takes it."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
from sqlalchemy import select, update

from connectors.base import FetchResult
from connectors.base import Mention as Fetched
from monitor.access import Principal, Role
from monitor.incidents import IncidentDetector, IncidentSettings, bulk_reply, get_incident, incident_mentions, pack
from monitor.ingest import ingest_page
from monitor.models import Brand, BrandQuery, Mention, MentionEmbedding
from monitor.storage import Database
from monitor.templates import ReplyTemplate
from tests.connector_doubles import RecordingReplyConnector

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)
AGENT = Principal("ana", Role.AGENT)
TEMPLATES = [ReplyTemplate(name="Fix", body="Hi {author}, fixed now. {brand} support")]


def _brand_with_query(db: Database, name: str) -> tuple[int, int]:
    with db.write() as session:
        brand = Brand(key=name.lower().replace(" ", ""), name=name)
        session.add(brand)
        session.flush()
        query = BrandQuery(brand_id=brand.id, connector="scripted", key=brand.key)
        session.add(query)
        session.flush()
        return brand.id, query.id


def _post(n: int, minutes_ago: int, replyable: bool) -> Fetched:
    return Fetched(platform="scripted", external_id=f"s{n}", text=f"orbisto pay logs me out {n}",
                   created_at=NOW - timedelta(minutes=minutes_ago), author_handle=f"user{n}", lang="en",
                   replyable=replyable)


def _fetch(db: Database, query_id: int, posts: list[Fetched]) -> None:
    ingest_page(db, connector="scripted", query_id=query_id, result=FetchResult(posts, next_cursor="1"))


def _classify_as_the_complaint(db: Database, rng: np.random.Generator, topic: np.ndarray) -> None:
    """What the classify worker stores for the unclassified posts: negative complaints, embedded close to `topic`."""
    with db.write() as session:
        for mention in session.scalars(select(Mention).where(Mention.classified_at.is_(None))):
            mention.sentiment_label, mention.intent, mention.classified_at = "negative", "complaint", NOW
            vector = topic + 0.6 * rng.normal(size=384) / np.sqrt(384)
            session.merge(MentionEmbedding(mention_id=mention.id, vector=pack(vector / np.linalg.norm(vector))))


def _grouped_complaint(db: Database, query_id: int, replyable: bool, seed: int
                       ) -> tuple[np.random.Generator, np.ndarray, int, int]:
    """Six posts of one complaint fetched by ``query_id``, classified and grouped at NOW: the random generator and
    the complaint's topic (for more of it), the incident, and the id of its first post ("s0")."""
    rng = np.random.default_rng(seed)
    topic = rng.normal(size=384)
    _fetch(db, query_id, [_post(n, 60 - 5 * n, replyable=replyable) for n in range(6)])
    _classify_as_the_complaint(db, rng, topic)
    [incident] = IncidentDetector(db, IncidentSettings()).run(NOW).opened
    with db.read() as session:
        first = session.scalar(select(Mention.id).where(Mention.external_id == "s0"))
    return rng, topic, incident, first


def test_a_post_moved_to_another_brand_leaves_the_incident_and_joins_the_new_brands(
        db: Database, connector: RecordingReplyConnector) -> None:
    _, pay_query = _brand_with_query(db, "Orbisto")
    _, other_query = _brand_with_query(db, "Orbisto Pay")
    # Fetched first by Orbisto's keyword query, which they do not @mention.
    rng, topic, incident, moved = _grouped_complaint(db, pay_query, replyable=False, seed=4)

    # Orbisto Pay's query fetches s0 too, and it @mentions Orbisto Pay's account: the post is Orbisto Pay's now.
    _fetch(db, other_query, [_post(0, 60, replyable=True)])

    assert moved not in [m.id for m in incident_mentions(db, incident)]
    assert get_incident(db, incident).mention_count == 5
    report = bulk_reply(db, incident, "Fix", TEMPLATES, {"scripted": connector}, AGENT, "Orbisto")
    assert moved not in report.sent and "s0" not in [external_id for external_id, _ in connector.calls]

    # Orbisto Pay's own burst of the complaint: five posts and the moved one make its incident.
    _fetch(db, other_query, [_post(n, 30 - 5 * (n - 10), replyable=True) for n in range(10, 15)])
    _classify_as_the_complaint(db, rng, topic)
    [other_incident] = IncidentDetector(db, IncidentSettings()).run(NOW + timedelta(minutes=1)).opened
    assert get_incident(db, other_incident).brand == "Orbisto Pay"
    assert moved in [m.id for m in incident_mentions(db, other_incident)]


def test_send_to_all_skips_a_member_filed_under_another_brand(db: Database,
                                                               connector: RecordingReplyConnector) -> None:
    """A member whose post is another brand's by now (moved before ingest released moved posts from their
    incidents, or while this run was reading) is not answered signed as the incident's brand."""
    _, query = _brand_with_query(db, "Orbisto")
    other, _ = _brand_with_query(db, "Orbisto Pay")
    _, _, incident, moved = _grouped_complaint(db, query, replyable=True, seed=5)
    with db.write() as session:
        session.execute(update(Mention).where(Mention.id == moved).values(brand_id=other))

    report = bulk_reply(db, incident, "Fix", TEMPLATES, {"scripted": connector}, AGENT, "Orbisto")

    assert "another brand" in report.skipped[moved]
    assert "s0" not in [external_id for external_id, _ in connector.calls]
    assert len(report.sent) == 5
