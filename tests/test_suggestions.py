"""Reply suggestions: templates and past replies ranked by multilingual similarity (the real model)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone

import numpy as np
import pytest
from sqlalchemy.orm import Session

from connectors.base import Connector
from connectors.sample import SampleConnector, SampleSettings
from monitor import presence, replies, triage
from monitor.access import Principal, Role
from monitor.errors import NotFound
from monitor.models import Brand, Mention, MentionStatus
from monitor.storage import Database
from monitor.suggestions import suggest
from monitor.templates import ReplyTemplate
from tests.connector_doubles import RecordingReplyConnector

AGENT = Principal("ana", Role.AGENT)
TEMPLATES = (
    ReplyTemplate("Payment problem", "Hi {author}, sorry about the charge. DM us the order number. {brand} support",
                  examples=("I was charged twice", "payment failed but the money was taken")),
    ReplyTemplate("Payment problem", "Hola {author}, perdón por el cargo. Envíanos el número de pedido. Soporte {brand}",
                  lang="es"),
    ReplyTemplate("Where is my order", "Hi {author}, sorry for the wait. DM us your order number. {brand} support",
                  examples=("my order hasn't arrived yet", "my package is late")),
    ReplyTemplate("Opening hours", "Hi {author}, we open 9:00-20:00, Monday to Saturday. {brand}",
                  examples=("what time do you open", "are you open on Sunday")),
    ReplyTemplate("Thanks", "Thank you {author}! The {brand} team is glad to hear it.",
                  examples=("I love the new app", "great service, thank you")),
    ReplyTemplate("Order number", "Hi {author}, we checked order {order_number}. {brand} support"),
)


def _brand_id(session: Session, name: str = "Orbisto") -> int:
    brand = session.query(Brand).filter_by(key=name.lower()).one_or_none()
    if brand is None:
        brand = Brand(key=name.lower(), name=name)
        session.add(brand)
        session.flush()
    return brand.id


def _mention(db: Database, text: str, lang: str, author: str, status: str = MentionStatus.NEW.value) -> int:
    with db.write() as session:
        mention = Mention(brand_id=_brand_id(session), platform="sample", external_id=f"{author}:{text[:20]}",
                          text=text, lang=lang, created_at=datetime.now(timezone.utc), author_handle=author,
                          author_name=author.title(), replyable=True, raw={}, status=status)
        session.add(mention)
        session.flush()
        return mention.id


def test_templates_are_ranked_across_languages_and_filled_in_the_mentions_language(db: Database) -> None:
    spanish = _mention(db, "me cobraron dos veces el mismo pedido", "es", "lucia")
    hindi = _mention(db, "मेरा ऑर्डर अभी तक नहीं आया", "hi", "ravi")
    [first, *others] = suggest(db, spanish, TEMPLATES)
    assert first.kind == "template" and first.template == "Payment problem"
    assert first.text == "Hola Lucia, perdón por el cargo. Envíanos el número de pedido. Soporte Orbisto"
    assert len(others) == 2 and first.score > max(o.score for o in others)
    top = suggest(db, hindi, TEMPLATES)
    assert top[0].template == "Where is my order"
    assert top[0].text == "Hi Ravi, sorry for the wait. DM us your order number. Orbisto support"  # no Hindi variant
    assert len(suggest(db, hindi, TEMPLATES, limit=5)) == 5
    with pytest.raises(NotFound):
        suggest(db, 10_000, TEMPLATES)


def test_a_past_reply_that_resolved_an_item_is_suggested_for_a_similar_one(db: Database) -> None:
    connector = SampleConnector(SampleSettings(), {})
    earlier = _mention(db, "the site has been down for an hour", "en", "marie")  # replied in its language
    answer = "Hi Marie, our engineers fixed the outage at 14:05, sorry for the trouble!"
    presence.send_reply_once(db, replies.draft_reply(db, earlier, answer, AGENT).id, connector, AGENT)
    unresolved = _mention(db, "the website is down again", "en", "sam")
    presence.send_reply_once(db, replies.draft_reply(db, unresolved, "We're looking at it", AGENT).id, connector, AGENT)
    new = _mention(db, "your website won't load at all", "en", "tom")
    assert all(s.kind == "template" for s in suggest(db, new, TEMPLATES)), "not resolved yet: not offered"

    triage.set_status(db, [earlier], MentionStatus.RESOLVED.value, AGENT)
    [best, *_] = suggest(db, new, TEMPLATES)
    assert best.kind == "past reply" and best.title.startswith("ana's reply of ")
    assert best.text == "Hi Tom, our engineers fixed the outage at 14:05, sorry for the trouble!"
    assert "We're looking at it" not in {s.text for s in suggest(db, new, TEMPLATES, limit=10)}


def _answered(db: Database, reply: str, author_name: str | None, author_handle: str | None, *,
              brand: str = "Orbisto", connector: Connector | None = None) -> None:
    """A resolved mention of ``brand`` on ``connector``'s platform whose author was answered with ``reply``."""
    connector = connector or SampleConnector(SampleSettings(), {})
    with db.write() as session:
        mention = Mention(brand_id=_brand_id(session, brand), platform=connector.name,
                          external_id=f"past:{reply[:30]}", text="is it fixed?", lang="en",
                          created_at=datetime.now(timezone.utc), author_name=author_name, author_handle=author_handle,
                          replyable=True, raw={}, status=MentionStatus.OPEN.value)
        session.add(mention)
        session.flush()
        mention_id = mention.id
    presence.send_reply_once(db, replies.draft_reply(db, mention_id, reply, AGENT).id, connector, AGENT)
    triage.set_status(db, [mention_id], MentionStatus.RESOLVED.value, AGENT)


def _same_vector(texts: Sequence[str]) -> np.ndarray:
    # Every past reply equally close: this test is about their text, not their ranking (no model needed).
    return np.full((len(texts), 384), 1 / np.sqrt(384), dtype=np.float32)


def test_a_past_reply_gets_the_new_authors_name_only_where_it_greeted_the_earlier_one(db: Database) -> None:
    _answered(db, "Thanks a lot, we are glad you asked", "a", None)  # an author named "a"
    _answered(db, "Hi there, there is a fix out now", None, None)  # no author: greeted as "there"
    _answered(db, "Hi @ana, fixed. Thanks @ana_b for the tip", None, "ana")
    _answered(db, "Hola May, the fix ships in May.", "May", "may")
    new = _mention(db, "is it fixed yet?", "en", "mallory")
    texts = {s.text for s in suggest(db, new, (), limit=10, embed=_same_vector)}
    assert texts == {"Thanks a lot, we are glad you asked", "Hi there, there is a fix out now",
                     "Hi Mallory, fixed. Thanks @ana_b for the tip", "Hola Mallory, the fix ships in May."}


def test_past_replies_are_offered_only_from_the_same_brand_and_platform(
        db: Database, connector: RecordingReplyConnector) -> None:
    # Another brand's reply is signed by it and holds its customer's details; another platform's was
    # written for that platform (its length limit, its @mention conventions).
    _answered(db, "Hi Marie, we refunded order 4711 to your card ending 0042. Acme Bank", "Marie", "marie",
              brand="Acme Bank")
    _answered(db, "Hi Sam, the fix is in the app now. Orbisto", "Sam", "sam", connector=connector)
    _answered(db, "Hi Lea, the fix is out now. Orbisto support", "Lea", "lea")
    new = _mention(db, "my payment failed, is it fixed?", "en", "tom")
    texts = [s.text for s in suggest(db, new, (), limit=10, embed=_same_vector)]
    assert texts == ["Hi Tom, the fix is out now. Orbisto support"]
