"""A past reply offered for a new author greets the new author, and never names (so notifies) the earlier one;
a name greeted before an emoji or a dash ("Hi Ana López 👋 …", "Hi Ana López - …") is swapped too: until
2026-12-07 such a reply went to the next customer with Ana's name."""

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

AGENT = Principal("ana_agent", Role.AGENT)


def _same_vector(texts: Sequence[str]) -> np.ndarray:
    # Every past reply equally close: this is about their text, not their ranking (no model needed).
    return np.full((len(texts), 384), 1 / np.sqrt(384), dtype=np.float32)


def _mention(db: Database, external_id: str, author_name: str, author_handle: str) -> int:
    with db.write() as session:
        brand = session.query(Brand).filter_by(key="orbisto").one_or_none()
        if brand is None:
            brand = Brand(key="orbisto", name="Orbisto")
            session.add(brand)
            session.flush()
        mention = Mention(brand_id=brand.id, platform="sample", external_id=external_id, text="where is my refund?",
                          lang="en", created_at=datetime.now(timezone.utc), author_name=author_name,
                          author_handle=author_handle, replyable=True, raw={}, status=MentionStatus.OPEN.value)
        session.add(mention)
        session.flush()
        return mention.id


def _answered_lea(db: Database, reply: str, name: str = "Lea", handle: str = "lea") -> None:
    """A resolved mention by Lea (@lea), or another author, answered with ``reply``."""
    mention_id = _mention(db, f"{handle}:{reply[:30]}", name, handle)
    connector = SampleConnector(SampleSettings(), {})
    presence.send_reply_once(db, replies.draft_reply(db, mention_id, reply, AGENT).id, connector, AGENT)
    triage.set_status(db, [mention_id], MentionStatus.RESOLVED.value, AGENT)


def test_a_past_reply_greeting_the_earlier_customer_by_handle_or_in_any_case_greets_the_new_one(
        db: Database) -> None:
    _answered_lea(db, "Hi @lea, the refund for order 4711 is on its way.")  # as Reply to all greets
    _answered_lea(db, "hi lea, the courier picks it up tomorrow.")
    _answered_lea(db, "@LEA thanks, the fix ships in May.")
    bob = _mention(db, "bob:1", "Bob", "bob")
    texts = {s.text for s in suggest(db, bob, (), limit=10, embed=_same_vector)}
    assert texts == {"Hi Bob, the refund for order 4711 is on its way.", "hi Bob, the courier picks it up tomorrow.",
                     "Bob thanks, the fix ships in May."}


def test_a_past_reply_naming_the_earlier_customers_handle_after_its_greeting_is_not_offered(db: Database) -> None:
    # On Mastodon and X a @handle notifies its owner: Lea would get Bob's answer (in a DM, join his thread).
    _answered_lea(db, "Hi Lea, thanks @lea for the screenshot, order 4711 is refunded.")
    _answered_lea(db, "Hi Lea, refunded. cc @Lea@mastodon.social")
    _answered_lea(db, "Hi Lea, fixed. Thanks @lea_b for the tip")  # another account: fine
    bob = _mention(db, "bob:1", "Bob", "bob")
    texts = [s.text for s in suggest(db, bob, (), limit=10, embed=_same_vector)]
    assert texts == ["Hi Bob, fixed. Thanks @lea_b for the tip"]


def test_a_name_greeted_before_an_emoji_or_a_dash_is_the_new_customers(db: Database) -> None:
    for reply in ("Hi Ana López 👋 your refund for order 4417 is on its way", "Hi Ana López - your parcel left today",
                  "Hola Ana López—the courier comes tomorrow", "Hi ana lópez ❤️ thanks for waiting"):
        _answered_lea(db, reply, "Ana López", "analopez")
    bob = _mention(db, "bob:1", "Bob", "bob")
    texts = {s.text for s in suggest(db, bob, (), limit=10, embed=_same_vector)}
    assert texts == {"Hi Bob 👋 your refund for order 4417 is on its way", "Hi Bob - your parcel left today",
                     "Hola Bob—the courier comes tomorrow", "Hi Bob ❤️ thanks for waiting"}


def test_a_name_that_only_begins_a_longer_hyphenated_word_is_left_alone(db: Database) -> None:
    # An author named "Check" is not greeted by "Check-in done".
    _answered_lea(db, "Check-in done, all fixed", "Check", "check")
    bob = _mention(db, "bob:1", "Bob", "bob")
    assert [s.text for s in suggest(db, bob, (), limit=10, embed=_same_vector)] == ["Check-in done, all fixed"]
