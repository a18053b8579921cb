"""The queue's filters, saved views, order and keyset pages, on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta

import pytest

from monitor import queue, triage
from monitor.models import Mention
from monitor.queue import BadCursor, QueueError, QueueFilters, Sort
from monitor.sla import SlaPolicy, breaching_cutoffs
from monitor.storage import Database
from sentiment.triage import DEFAULT_RULES
from tests.test_dashboard_fixtures import NOW, add_brand, add_mention
from tests.principals import ANA, LEAD
from tests.hostile_corpus import PAST_9999_IN_UTC


def _all_ids(db: Database, filters: QueueFilters, sort: Sort = Sort.URGENT, limit: int = 3) -> list[int]:
    ids: list[int] = []
    cursor = None
    with db.read() as session:
        while True:
            page = queue.fetch_page(session, filters, sort, after=cursor, limit=limit)
            ids += [m.id for m in page.items]
            if page.next_cursor is None:
                return ids
            cursor = page.next_cursor


def test_urgent_order_is_priority_then_newest_with_unscored_last_across_pages(db: Database) -> None:
    t = NOW
    low_old = add_mention(db, priority=10.0, created_at=t - timedelta(hours=3))
    high = add_mention(db, priority=90.0, created_at=t - timedelta(hours=5))
    low_new = add_mention(db, priority=10.0, created_at=t - timedelta(hours=1))
    unscored_new = add_mention(db, priority=None, created_at=t)
    unscored_old = add_mention(db, priority=None, created_at=t - timedelta(days=1))
    tie_a = add_mention(db, priority=50.0, created_at=t - timedelta(hours=2))
    tie_b = add_mention(db, priority=50.0, created_at=t - timedelta(hours=2))
    expected = [high, tie_b, tie_a, low_new, low_old, unscored_new, unscored_old]
    for page_size in (1, 2, 3, 50):
        assert _all_ids(db, QueueFilters(), limit=page_size) == expected
    assert _all_ids(db, QueueFilters(), Sort.NEWEST, limit=2) == [unscored_new, low_new, tie_b, tie_a, low_old, high, unscored_old]


def test_each_filter_narrows_the_queue(db: Database) -> None:
    acme, other = add_brand(db, "Acme"), add_brand(db, "Other")
    target = add_mention(db, brand_id=acme, platform="x", sentiment_label="negative", intent="complaint",
                         lang="es", text="Mi pedido no llegó", created_at=NOW - timedelta(hours=1))
    add_mention(db, brand_id=other, platform="reddit", sentiment_label="positive", intent="praise", lang="en",
                text="love it", created_at=NOW - timedelta(days=3))
    closed = add_mention(db, brand_id=acme, status="resolved")
    triage.assign(db, [target], "ana", ANA)
    triage.add_tag(db, [target], "Shipping", ANA)
    cases = {
        "brand": QueueFilters(brand_ids=(acme,)),
        "platform": QueueFilters(platforms=("x",)),
        "sentiment": QueueFilters(sentiments=("negative",)),
        "intent": QueueFilters(intents=("complaint",)),
        "assignee": QueueFilters(assignee="ana"),
        "language": QueueFilters(langs=("es",)),
        "tag": QueueFilters(tags=("shipping",)),
        "date range": QueueFilters(since=NOW - timedelta(hours=2), until=NOW),
        "free text, any case": QueueFilters(text="PEDIDO"),
    }
    for name, filters in cases.items():
        assert _all_ids(db, filters) == [target], name
    assert _all_ids(db, QueueFilters(statuses=("resolved",))) == [closed]
    assert closed not in _all_ids(db, QueueFilters())  # the default queue shows open work only


def test_free_text_treats_like_wildcards_literally(db: Database) -> None:
    percent = add_mention(db, text="100% broken")
    add_mention(db, text="100 things broken")
    assert _all_ids(db, QueueFilters(text="100%")) == [percent]
    quoted = add_mention(db, text='it says "out of stock" again')
    assert _all_ids(db, QueueFilters(text='"out of')) == [quoted]


def test_free_text_finds_substrings_in_any_script(db: Database) -> None:
    arabic = add_mention(db, text="طلبي متأخر منذ أسبوع")
    hindi = add_mention(db, text="मेरा ऑर्डर अभी तक नहीं आया")
    tamil = add_mention(db, text="என் ஆர்டர் இன்னும் வரவில்லை")
    khmer = add_mention(db, text="ការបញ្ជាទិញរបស់ខ្ញុំមិនទាន់មកដល់")
    latin = add_mention(db, text="Mi pedido no llegó", author_handle="Tienda_Fan")
    cases = {"متأخر": [arabic], "र्डर अभी": [hindi], "ஆர்டர்": [tamil], "បញ្ជាទិញ": [khmer],
             "DIDO NO": [latin], "llegó": [latin], "tienda_f": [latin], "nowhere": []}
    for needle, expected in cases.items():
        assert _all_ids(db, QueueFilters(text=needle)) == expected, needle


def test_free_text_shorter_than_the_index_still_matches(db: Database) -> None:
    assert queue.MIN_INDEXED_TEXT == 3
    percent = add_mention(db, text="100% broken", author_handle="ana")
    tamil = add_mention(db, text="என் ஆர்டர்")
    handle = add_mention(db, text="hello", author_handle="xq_team")
    assert _all_ids(db, QueueFilters(text="0%")) == [percent]
    assert _all_ids(db, QueueFilters(text="ர்")) == [tamil]
    assert _all_ids(db, QueueFilters(text="Q_")) == [handle]
    assert _all_ids(db, QueueFilters(text="_")) == [handle]


def test_a_search_too_short_for_the_index_looks_at_the_newest_mentions_only(db: Database,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    oldest, *newer = [add_mention(db, text=f"okay {n}") for n in range(4)]
    monkeypatch.setattr(queue, "SHORT_TEXT_WINDOW", 3)
    assert sorted(_all_ids(db, QueueFilters(text="ok"))) == newer  # the newest three by arrival
    assert sorted(_all_ids(db, QueueFilters(text="oka"))) == [oldest, *newer]  # three characters: the index, all


def test_free_text_finds_the_same_mentions_for_a_common_term(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    hits = [add_mention(db, text=f"Refund {n} please") for n in range(3)]
    add_mention(db, text="all good")
    monkeypatch.setattr(queue, "FTS_DRIVE_LIMIT", 1)  # as if "refund" were in most mentions
    assert _all_ids(db, QueueFilters(text="REFUND"), limit=2) == hits  # newest first


def test_free_text_follows_edits_and_deletes(db: Database) -> None:
    edited = add_mention(db, text="the parcel never came")
    gone = add_mention(db, text="parcel lost")
    with db.write() as session:
        session.get(Mention, edited).text = "refund please"
        session.delete(session.get(Mention, gone))
    assert _all_ids(db, QueueFilters(text="parcel")) == []
    assert _all_ids(db, QueueFilters(text="refund")) == [edited]


def test_a_human_relabel_decides_the_sentiment_filter(db: Database) -> None:
    m = add_mention(db, sentiment_label="positive")
    triage.relabel(db, [m], ANA, sentiment="negative", rules=DEFAULT_RULES)
    assert _all_ids(db, QueueFilters(sentiments=("negative",))) == [m]
    assert _all_ids(db, QueueFilters(sentiments=("positive",))) == []


def test_saved_views(db: Database) -> None:
    mine = add_mention(db, intent="complaint")
    theirs = add_mention(db, intent="complaint")
    praise = add_mention(db, intent="praise")
    triage.assign(db, [mine, praise], "ana", LEAD)
    triage.assign(db, [theirs], "bo", LEAD)
    free = add_mention(db)
    views = {v.key: v for v in queue.saved_views("ana", ())}
    assert _all_ids(db, views["my-open-complaints"].filters) == [mine]
    assert _all_ids(db, views["unassigned"].filters) == [free]


def test_breaching_sla_view_holds_unanswered_items_at_risk_or_overdue(db: Database) -> None:
    policy = SlaPolicy()  # urgent (>= 70) 1 h, high (>= 40) 4 h, normal 24 h; at risk with 25 % left
    urgent_late = add_mention(db, priority=80.0, created_at=NOW - timedelta(minutes=50))
    add_mention(db, priority=80.0, created_at=NOW - timedelta(minutes=30))
    add_mention(db, priority=80.0, created_at=NOW - timedelta(hours=2), first_response_at=NOW - timedelta(hours=1))
    high_late = add_mention(db, priority=50.0, created_at=NOW - timedelta(hours=5))
    add_mention(db, priority=50.0, created_at=NOW - timedelta(hours=2))
    unscored_late = add_mention(db, priority=None, created_at=NOW - timedelta(hours=20))
    add_mention(db, priority=5.0, created_at=NOW - timedelta(hours=10))
    view = {v.key: v for v in queue.saved_views("ana", breaching_cutoffs(policy, NOW))}["breaching-sla"]
    assert _all_ids(db, view.filters) == [urgent_late, high_late, unscored_late]


def test_count_is_capped(db: Database) -> None:
    for _ in range(5):
        add_mention(db)
    with db.read() as session:
        assert queue.count(session, QueueFilters()) == (5, False)
        assert queue.count(session, QueueFilters(), cap=3) == (3, True)


def test_a_cursor_from_another_order_or_made_up_is_refused(db: Database) -> None:
    for _ in range(3):
        add_mention(db, priority=1.0)
    with db.read() as session:
        page = queue.fetch_page(session, QueueFilters(), Sort.URGENT, limit=1)
        assert page.next_cursor
        with pytest.raises(BadCursor):
            queue.fetch_page(session, QueueFilters(), Sort.NEWEST, after=page.next_cursor)
        with pytest.raises(BadCursor):
            queue.fetch_page(session, QueueFilters(), after="not-a-cursor")


def test_thread_context_shows_the_conversation_oldest_first(db: Database) -> None:
    root = add_mention(db, platform="x", external_id="100", thread_id="100", created_at=NOW - timedelta(hours=2))
    reply = add_mention(db, platform="x", external_id="101", thread_id="100", parent_id="100", created_at=NOW - timedelta(hours=1))
    add_mention(db, platform="reddit", external_id="102", thread_id="100")
    with db.read() as session:
        from monitor.models import Mention
        assert [m.id for m in queue.thread_context(session, session.get(Mention, reply))] == [root]




def _cursor(sort: Sort, priority: object, created_at: str, mention_id: object) -> str:
    """A cursor as a visitor could forge one: the same encoding as the queue's own."""
    payload = {"s": sort.value, "p": priority, "c": created_at, "i": mention_id}
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode()


@pytest.mark.parametrize("sort, priority, created_at, mention_id", [
    (Sort.URGENT, 1.0, "2026-01-01T00:00:00", 1),  # naive
    (Sort.URGENT, 1.0, "0001-01-01T00:00:00+05:00", 1),  # before year 1 in UTC
    (Sort.NEWEST, None, "9999-12-31T23:00:00-05:00", 1),  # after year 9999 in UTC
    (Sort.URGENT, 1.0, NOW.isoformat(), 2**63),
    (Sort.URGENT, float("nan"), NOW.isoformat(), 1),
])
def test_a_forged_cursor_with_a_date_or_id_no_query_can_take_is_refused(
        db: Database, sort: Sort, priority: float | None, created_at: str, mention_id: int) -> None:
    add_mention(db, priority=1.0)
    with db.read() as session, pytest.raises(BadCursor, match=f"not a queue cursor for the {sort.value} order"):
        queue.fetch_page(session, QueueFilters(), sort, after=_cursor(sort, priority, created_at, mention_id))


def test_a_page_size_out_of_range_is_refused(db: Database) -> None:
    for _ in range(2):
        add_mention(db)
    with db.read() as session:
        for limit in (-5, 0, queue.MAX_PAGE_SIZE + 1):
            with pytest.raises(QueueError, match="a page holds 1 to"):
                queue.fetch_page(session, QueueFilters(), limit=limit)
        assert len(queue.fetch_page(session, QueueFilters(), limit=1).items) == 1


def test_filters_no_query_can_take_are_refused_with_a_message(db: Database) -> None:
    add_mention(db, text="order 100 is late")
    bad = {
        "NUL in the search text": (QueueFilters(text="order\x00 100"), "search text holds a NUL"),
        "short search with a NUL": (QueueFilters(text="\x00"), "search text holds a NUL"),
        "lone surrogate": (QueueFilters(text="order \ud800"), "search text holds a NUL or an unpaired surrogate"),
        "NUL in a language": (QueueFilters(langs=("en\x00",)), "language filter holds a NUL"),
        "NUL in the assignee": (QueueFilters(assignee="ana\x00"), "assignee filter holds a NUL"),
        "brand id past 64 bits": (QueueFilters(brand_ids=(2**63,)), "no brand can have"),
        "naive date": (QueueFilters(since=datetime(2026, 1, 1)), "start date must be a date and time with a time zone"),
        "date past year 9999 in UTC": (QueueFilters(until=PAST_9999_IN_UTC), "end date is out of range"),
        "huge search text": (QueueFilters(text="x" * (queue.MAX_TEXT_LENGTH + 1)), "at most"),
    }
    with db.read() as session:
        for name, (filters, message) in bad.items():
            with pytest.raises(QueueError, match=message):
                queue.fetch_page(session, filters)
            with pytest.raises(QueueError, match=message):
                queue.count(session, filters)
