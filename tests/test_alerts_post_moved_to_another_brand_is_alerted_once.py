"""A mention is alerted at most once per rule and target, also when ingest moves its post to another brand (a later
copy fetched for the brand whose account it @mentions; see monitor.ingest) and has it classified again. A held alert
leaves out a post moved away while it waited: the post is alerted under its new brand's name, not its old one's."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from itertools import count
from typing import NamedTuple

import pytest
from sqlalchemy import select, update

from connectors.base import FetchResult
from connectors.base import Mention as Fetched
from monitor.alerts.engine import AlertEngine
from monitor.alerts.receiver import Receiver
from monitor.ingest import ingest_page
from monitor.models import Brand, BrandQuery, Mention, utcnow
from monitor.storage import Database
from tests.test_alerts import Clock, events, settings, target

ONLY_SLA = {"urgent": {"enabled": False}, "digest": {"enabled": False}, "volume_spike": {"enabled": False},
            "negative_spike": {"enabled": False}, "sla": {"response_minutes": 60, "warn_before_minutes": 15}}
MOVED = "not sent: its mentions moved to another brand, or their brand was made a competitor, while it waited"
_posts = count(1)


class Brands(NamedTuple):
    acme: int
    support: int
    acme_query: int
    support_query: int


def _brands(db: Database) -> Brands:
    with db.write() as session:
        acme, support = Brand(key="acme", name="Acme"), Brand(key="acme-support", name="Acme Support")
        session.add_all([acme, support])
        session.flush()
        queries = [BrandQuery(brand_id=b.id, connector="x", key=b.key) for b in (acme, support)]
        session.add_all(queries)
        session.flush()
        return Brands(acme.id, support.id, queries[0].id, queries[1].id)


def _post(minutes_ago: float = 2) -> Fetched:
    return Fetched(platform="x", external_id=str(next(_posts)), text="@acmesupport I want a refund now",
                   created_at=utcnow() - timedelta(minutes=minutes_ago), author_handle="bob", author_followers=50)


def _fetched(db: Database, query_id: int, post: Fetched, replyable: bool) -> None:
    """``post`` as ``query_id`` fetches it: Acme's keyword match, or Acme Support's @mention (replyable), which moves
    a post Acme stored first to Acme Support."""
    ingest_page(db, connector="x", query_id=query_id, result=FetchResult([replace(post, replyable=replyable)], None))


def _classified(db: Database) -> list[int]:
    """Classify what waits (a negative complaint needing an answer), as the classifier would; its ids."""
    with db.write() as session:
        ids = list(session.scalars(select(Mention.id).where(Mention.classified_at.is_(None))))
        session.execute(update(Mention).where(Mention.id.in_(ids)).values(
            sentiment_label="negative", sentiment_score=0.9, priority=60.0, needs_response=True,
            classified_at=utcnow()))
    return ids


def test_an_urgent_post_moved_to_another_brand_is_not_alerted_again(db: Database) -> None:
    brands, post = _brands(db), _post()
    with Receiver() as receiver:
        with AlertEngine(db, settings(), [target("care", receiver.json_url())], Clock(utcnow())) as engine:
            _fetched(db, brands.acme_query, post, replyable=False)
            engine.on_new_mentions(_classified(db))
            assert engine.drain(10)
            _fetched(db, brands.support_query, post, replyable=True)
            engine.on_new_mentions(_classified(db))  # checked again under Acme Support
            assert engine.drain(10)
        assert [m.title for m in receiver.received] == ["Urgent mention of Acme"]
    assert [(e.rule, e.brand_id) for e in events(db)] == [("urgent", brands.acme)]


def test_an_sla_warning_is_not_repeated_for_a_post_moved_to_another_brand(sqlite_db: Database) -> None:
    brands, post, clock = _brands(sqlite_db), _post(minutes_ago=50), Clock(utcnow())
    with Receiver() as receiver:
        with AlertEngine(sqlite_db, settings(rules=ONLY_SLA), [target("care", receiver.json_url())], clock) as engine:
            _fetched(sqlite_db, brands.acme_query, post, replyable=False)
            _classified(sqlite_db)
            engine.tick()
            assert engine.drain(10)
            _fetched(sqlite_db, brands.support_query, post, replyable=True)
            _classified(sqlite_db)
            clock.advance(minutes=1)
            engine.tick()
            assert engine.drain(10)
        assert [m.title for m in receiver.received] == ["Response due soon: 1 mention of Acme"]


@pytest.mark.parametrize("classified_again_first", [True, False], ids=["classified-again-first", "held-alert-first"])
def test_a_held_alert_leaves_out_a_post_moved_to_another_brand_which_is_alerted_there(
        sqlite_db: Database, classified_again_first: bool) -> None:
    # The held alert may go (suppressed: its post moved away) before the post is classified again under its new
    # brand (a classification backlog): that alert told nobody, so the new brand's does either way.
    brands, clock = _brands(sqlite_db), Clock(utcnow())
    first, moved = _post(), _post()
    with Receiver() as receiver:
        with AlertEngine(sqlite_db, settings(), [target("care", receiver.json_url())], clock) as engine:
            _fetched(sqlite_db, brands.acme_query, first, replyable=False)
            engine.on_new_mentions(_classified(sqlite_db))
            assert engine.drain(10)
            clock.advance(minutes=2)
            _fetched(sqlite_db, brands.acme_query, moved, replyable=False)
            engine.on_new_mentions(_classified(sqlite_db))  # held for Acme's 10-minute cooldown
            _fetched(sqlite_db, brands.support_query, moved, replyable=True)
            if classified_again_first:
                engine.on_new_mentions(_classified(sqlite_db))
                assert engine.drain(10)
            clock.advance(minutes=9)  # Acme's held alert comes due
            assert engine.drain(10)
            if not classified_again_first:
                engine.on_new_mentions(_classified(sqlite_db))
                assert engine.drain(10)
        assert [m.title for m in receiver.received] == ["Urgent mention of Acme", "Urgent mention of Acme Support"]
    held = next(e for e in events(sqlite_db) if e.status == "suppressed")
    assert (held.brand_id, held.reason) == (brands.acme, MOVED)
