"""A check-in reply ("is everything working now?") is never offered as a suggested answer to a new mention."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, timezone

import numpy as np

from connectors.sample import SampleConnector, SampleSettings
from monitor import followups, presence, replies
from monitor.access import Principal, Role
from monitor.models import Brand, Mention, MentionStatus
from monitor.storage import Database
from monitor.suggestions import suggest

ANA = Principal("ana", Role.AGENT)
BEN = Principal("ben", Role.AGENT)


def _same_vector(texts: Sequence[str]) -> np.ndarray:
    # Every past reply equally close: this is about which are offered, not their ranking (no model needed).
    return np.full((len(texts), 384), 1 / np.sqrt(384), dtype=np.float32)


def _mention(db: Database, external_id: str, author: str) -> int:
    with db.write() as session:
        brand = session.query(Brand).filter_by(key="orbisto").one_or_none()
        if brand is None:
            brand = Brand(key="orbisto", name="Orbisto")
            session.add(brand)
            session.flush()
        mention = Mention(brand_id=brand.id, platform="sample", external_id=external_id,
                          text="the app keeps logging me out", lang="en", created_at=datetime.now(timezone.utc),
                          author_name=author.title(), author_handle=author, replyable=True, raw={},
                          status=MentionStatus.OPEN.value)
        session.add(mention)
        session.flush()
        return mention.id


def test_a_sent_check_in_is_not_suggested_but_the_answer_before_it_is(db: Database) -> None:
    connector = SampleConnector(SampleSettings(), {})
    earlier = _mention(db, "lea:1", "lea")
    answer = replies.draft_reply(db, earlier, "Hi Lea, version 4.2.1 fixes the log-outs.", ANA)
    presence.send_reply_once(db, answer.id, connector, ANA)
    due = datetime.now(timezone.utc) + timedelta(days=2)
    check_in = followups.resolve_with_check_in(
        db, earlier, "Hi Lea, just checking in: is the app keeping you signed in now?", due, ANA)
    followups.run_due(db, due + timedelta(minutes=1))
    followups.approve_check_in(db, check_in.id, connector, BEN)
    bob = _mention(db, "bob:1", "bob")
    texts = [s.text for s in suggest(db, bob, (), limit=10, embed=_same_vector)]
    assert texts == ["Hi Bob, version 4.2.1 fixes the log-outs."]
