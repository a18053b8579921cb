"""A past reply greeting its author by name before an emoji or a dash ("Hi Ana López 👋 …", "Hi Ana López - …")
is offered to the next customer with their name: it went to them with Ana's."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone

import numpy as np

from connectors.sample import SampleConnector, SampleSettings
from monitor import presence, replies, triage
from monitor.access import Principal, Role
from monitor.models import Brand, Mention, MentionStatus
from monitor.storage import Database
from monitor.suggestions import suggest

AGENT = Principal("agent", Role.AGENT)


def _same_vector(texts: Sequence[str]) -> np.ndarray:
    # Every past reply equally close: this is about their text, not their ranking (no model needed).
    return np.full((len(texts), 384), 1 / np.sqrt(384), dtype=np.float32)


def _mention(db: Database, external_id: str, author_name: str, author_handle: str) -> int:
    with db.write() as session:
        brand = session.query(Brand).filter_by(key="acme").one_or_none()
        if brand is None:
            brand = Brand(key="acme", name="Acme")
            session.add(brand)
            session.flush()
        mention = Mention(brand_id=brand.id, platform="sample", external_id=external_id, text="where is my refund?",
                          lang="en", created_at=datetime.now(timezone.utc), author_name=author_name,
                          author_handle=author_handle, replyable=True, raw={}, status=MentionStatus.OPEN.value)
        session.add(mention)
        session.flush()
        return mention.id


def _answered_ana(db: Database, reply: str) -> None:
    """A resolved mention by Ana López (@analopez) answered with ``reply``."""
    mention_id = _mention(db, f"ana:{reply[:30]}", "Ana López", "analopez")
    connector = SampleConnector(SampleSettings(), {})
    presence.send_reply_once(db, replies.draft_reply(db, mention_id, reply, AGENT).id, connector, AGENT)
    triage.set_status(db, [mention_id], MentionStatus.RESOLVED.value, AGENT)


def test_a_name_greeted_before_an_emoji_or_a_dash_is_the_new_customers(db: Database) -> None:
    _answered_ana(db, "Hi Ana López 👋 your refund for order 4417 is on its way")
    _answered_ana(db, "Hi Ana López - your parcel left today")
    _answered_ana(db, "Hola Ana López—the courier comes tomorrow")
    _answered_ana(db, "Hi ana lópez ❤️ thanks for waiting")
    bob = _mention(db, "bob:1", "Bob", "bob")
    texts = {s.text for s in suggest(db, bob, (), limit=10, embed=_same_vector)}
    assert texts == {"Hi Bob 👋 your refund for order 4417 is on its way", "Hi Bob - your parcel left today",
                     "Hola Bob—the courier comes tomorrow", "Hi Bob ❤️ thanks for waiting"}


def test_a_name_that_only_begins_a_longer_hyphenated_word_is_left_alone(db: Database) -> None:
    # An author named "Check" is not greeted by "Check-in done".
    mention_id = _mention(db, "check:1", "Check", "check")
    connector = SampleConnector(SampleSettings(), {})
    presence.send_reply_once(db, replies.draft_reply(db, mention_id, "Check-in done, all fixed", AGENT).id,
                             connector, AGENT)
    triage.set_status(db, [mention_id], MentionStatus.RESOLVED.value, AGENT)
    bob = _mention(db, "bob:1", "Bob", "bob")
    assert [s.text for s in suggest(db, bob, (), limit=10, embed=_same_vector)] == ["Check-in done, all fixed"]
