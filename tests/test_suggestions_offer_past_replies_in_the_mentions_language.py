"""A past reply is offered as it was written: one sent to a Spanish customer is Spanish. Ranked by multilingual
similarity alone, it came first for an English-speaking customer, above the English template. Now a past reply
is offered only where its earlier mention's language (primary subtag) is the new mention's, or either is unknown."""

from __future__ import annotations

from datetime import datetime, timezone

from connectors.sample import SampleConnector, SampleSettings
from monitor import presence, replies, triage
from monitor.models import Mention, MentionStatus
from monitor.storage import Database
from monitor.suggestions import suggest
from tests.test_suggestions import AGENT, TEMPLATES, _brand_id, _mention, _same_vector


def _stored(db: Database, lang: str | None, author: str, status: str = MentionStatus.NEW.value) -> int:
    """A mention in ``lang`` (None: unknown) of the brand the templates' tests use."""
    with db.write() as session:
        mention = Mention(brand_id=_brand_id(session), platform="sample", external_id=f"{author}:{lang}",
                          text="my order has not arrived", lang=lang, created_at=datetime.now(timezone.utc),
                          author_handle=None, author_name=None, replyable=True, raw={}, status=status)
        session.add(mention)
        session.flush()
        return mention.id


def _answered_in(db: Database, lang: str | None, reply: str) -> None:
    """A resolved mention in ``lang`` answered with ``reply``."""
    mention_id = _stored(db, lang, f"past {reply}", MentionStatus.OPEN.value)
    connector = SampleConnector(SampleSettings(), {})
    presence.send_reply_once(db, replies.draft_reply(db, mention_id, reply, AGENT).id, connector, AGENT)
    triage.set_status(db, [mention_id], MentionStatus.RESOLVED.value, AGENT)


def test_past_replies_are_offered_only_in_the_mentions_language_or_where_one_is_unknown(db: Database) -> None:
    _answered_in(db, "es", "Lo sentimos mucho: tu pedido sale hoy del almacén.")
    _answered_in(db, "es-mx", "Una disculpa: tu pedido sale hoy.")
    _answered_in(db, "en", "Sorry! Your order leaves the warehouse today.")
    _answered_in(db, "en-gb", "Sorry! Your parcel leaves the warehouse today.")
    _answered_in(db, None, "Order 4711 ships today.")

    def offered(lang: str | None) -> set[str]:
        return {s.text for s in suggest(db, _stored(db, lang, "new"), (), limit=10, embed=_same_vector)}

    assert offered("en-us") == {"Sorry! Your order leaves the warehouse today.",
                                "Sorry! Your parcel leaves the warehouse today.", "Order 4711 ships today."}
    assert offered("es") == {"Lo sentimos mucho: tu pedido sale hoy del almacén.", "Una disculpa: tu pedido sale hoy.",
                             "Order 4711 ships today."}
    assert len(offered(None)) == 5, "a mention whose language is unknown is offered every past reply"


def test_an_english_customer_is_not_offered_a_spanish_reply_above_the_english_template(db: Database) -> None:
    """The reported case, with the real model: the Spanish past reply scored 0.951 and came first."""
    earlier = _mention(db, "mi pedido todavía no ha llegado, ya pasaron dos semanas", "es", "lucia")
    spanish = "Hola Lucia, lo sentimos mucho: tu pedido sale hoy del almacén."
    presence.send_reply_once(db, replies.draft_reply(db, earlier, spanish, AGENT).id,
                             SampleConnector(SampleSettings(), {}), AGENT)
    triage.set_status(db, [earlier], MentionStatus.RESOLVED.value, AGENT)
    new = _mention(db, "my order still hasn't arrived, it's been two weeks", "en", "tom")
    [first, *others] = suggest(db, new, TEMPLATES)
    assert first.template == "Where is my order"
    assert all(s.kind == "template" for s in others), "no Spanish text for an English-speaking customer"
