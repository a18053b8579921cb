"""One post fetched by several brands' queries is stored once, under the brand its team answers it for."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from connectors.base import FetchResult
from monitor.classify import MentionClassifier
from monitor.config import Config
from monitor.ingest import IngestResult, ingest_page, sync_brands
from monitor.models import AlertCheck, Brand, Mention
from monitor.storage import Database
from sentiment.triage import TriageRules
from tests.classify_worker import SlowModel
from tests.connector_doubles import mention

CONFIG = Config.from_dict({"brands": [
    {"name": "Rival", "keywords": ["rival"], "competitor": True},
    {"name": "Acme", "keywords": ["acme"], "handles": {"sample": "acme"}},
    {"name": "Acme Bank", "keywords": ["acme bank"]},
], "connectors": {"sample": {}}}, env={})
POST = "@acme my order never came, switching to Rival"


def _queries(db: Database) -> dict[str, int]:
    ids = sync_brands(db, CONFIG.brands, {"sample": CONFIG.queries_for("sample")})
    return {key: query_id for (_, key), query_id in ids.items()}


def _fetched(db: Database, query_id: int, *replyable: bool) -> IngestResult:
    """A page from `query_id` holding the post once per value of `replyable`."""
    page = [mention("sample", 1, text=POST, replyable=r) for r in replyable]
    return ingest_page(db, connector="sample", query_id=query_id, result=FetchResult(page, next_cursor="1"))


def _stored(db: Database) -> tuple[str, int | None, bool]:
    """The one stored row of the post: its brand's key, its query and whether it can be replied to."""
    with db.read() as session:
        [(brand, query_id, replyable)] = session.execute(
            select(Brand.key, Mention.query_id, Mention.replyable).join(Brand, Brand.id == Mention.brand_id)).all()
    return brand, query_id, replyable


def test_a_post_that_mentions_our_account_is_ours_and_replyable_though_a_competitor_stored_it_first(
        db: Database) -> None:
    # It stayed the competitor's keyword match: out of our queue, and a reply to it was refused.
    queries = _queries(db)
    first = _fetched(db, queries["rival"], False)
    ours = _fetched(db, queries["acme"], True)
    assert (first.stored, ours.stored, ours.duplicates, ours.new_ids) == (1, 0, 1, []), "still one post, not new"
    assert _stored(db) == ("acme", queries["acme"], True)
    assert _fetched(db, queries["rival"], False).duplicates == 1
    assert _stored(db) == ("acme", queries["acme"], True), "a later competitor copy moves nothing back"


@pytest.mark.parametrize("fetches", [
    [("rival", False), ("acme", False)],  # a competitor's keyword match, then ours
    # "acme support is slow, @rival would have answered": Rival's account may answer it, Acme's may not.
    # Either way round, the post was ours and replyable, and a reply to it went out to be refused by X.
    [("acme", False), ("rival", True)],
    [("rival", True), ("acme", False)],
], ids=["keyword-copies", "competitors-mention-later", "competitors-mention-first"])
def test_a_post_naming_our_brand_and_a_competitor_is_ours_and_replyable_only_by_our_copy(
        db: Database, fetches: list[tuple[str, bool]]) -> None:
    queries = _queries(db)
    for brand, replyable in fetches:
        _fetched(db, queries[brand], replyable)
    assert _stored(db) == ("acme", queries["acme"], False)


def test_a_copy_that_may_be_replied_to_makes_the_post_replyable(db: Database) -> None:
    queries = _queries(db)
    both = _fetched(db, queries["acme"], False, True)  # a keyword match and the @mentions timeline, one page
    assert (both.received, both.stored, both.duplicates) == (2, 1, 1)
    assert _stored(db) == ("acme", queries["acme"], True)


def test_between_our_own_brands_the_first_keeps_the_post_unless_the_other_one_was_mentioned(db: Database) -> None:
    queries = _queries(db)
    _fetched(db, queries["acme-bank"], False)
    _fetched(db, queries["acme"], False)
    assert _stored(db) == ("acme-bank", queries["acme-bank"], False)
    _fetched(db, queries["acme"], True)
    assert _stored(db) == ("acme", queries["acme"], True)
    _fetched(db, queries["acme-bank"], True)
    assert _stored(db) == ("acme", queries["acme"], True)


def test_a_post_moved_to_our_brand_is_triaged_again_as_one_that_needs_our_answer(db: Database) -> None:
    # Classified as the competitor's keyword match it needed no response (not replyable); moved to us
    # and made replyable, it kept that until someone ran `retriage`, and alerted nobody.
    queries = _queries(db)
    classifier = MentionClassifier(SlowModel(seconds_per_batch=0), TriageRules())
    _fetched(db, queries["rival"], False)
    assert len(classifier.classify_pending(db, alert=lambda ids: None)) == 1  # its urgent check still waits
    with db.read() as session:
        assert session.scalar(select(Mention.needs_response)) is False
    _fetched(db, queries["acme"], True)
    assert classifier.classify_pending(db, alert=lambda ids: None) != [], "classified again"
    with db.read() as session:
        assert session.execute(select(Mention.needs_response, Mention.replyable)).one() == (True, True)
        assert session.scalar(select(func.count()).select_from(AlertCheck)) == 1
