from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from connectors.base import FetchResult
from monitor.errors import IngestError
from monitor.ingest import SET_ASIDE, ingest_page, read_cursor, sync_brands, usage_today
from monitor.models import AuditEntry, Mention, utcnow
from monitor.config import Config
from monitor.storage import Database
from tests.connector_doubles import mention

CONFIG = Config.from_dict({"brands": [{"name": "Acme", "keywords": ["acme"]}], "connectors": {"sample": {}}}, env={})


@pytest.fixture
def query_id(db: Database) -> int:
    return sync_brands(db, CONFIG.brands, {"sample": CONFIG.queries_for("sample")})[("sample", "acme")]


def count(db: Database) -> int:
    with db.read() as session:
        return session.scalar(select(func.count()).select_from(Mention)) or 0


def test_duplicate_delivery_is_stored_once(db: Database, query_id: int) -> None:
    page = [mention("sample", n) for n in range(5)]
    first = ingest_page(db, connector="sample", query_id=query_id, result=FetchResult(page, next_cursor="5"))
    again = ingest_page(db, connector="sample", query_id=query_id,
                        result=FetchResult(page[3:] + [mention("sample", 5)] * 2, next_cursor="6"))
    assert (first.stored, first.duplicates) == (5, 0)
    assert (again.stored, again.duplicates) == (1, 3)  # two seen before, one repeated in the page
    assert count(db) == 6
    with db.read() as session:
        assert read_cursor(session, query_id) == "6"
        stored = session.scalars(select(Mention).order_by(Mention.id)).all()
    assert [m.external_id for m in stored] == ["0", "1", "2", "3", "4", "5"]
    assert stored[0].brand_id is not None and stored[0].status == "new"
    assert stored[0].created_at.tzinfo is not None


def test_one_bad_mention_is_set_aside_and_the_rest_of_its_page_stored(db: Database, query_id: int) -> None:
    # Until 2026-12-06 it stored nothing of its page and kept the cursor: the source stopped there for good.
    ingest_page(db, connector="sample", query_id=query_id, result=FetchResult([mention("sample", 0)], next_cursor="1"))
    bad_page = [mention("sample", 1), mention("sample", 2, created_at=datetime(2026, 11, 1))]
    result = ingest_page(db, connector="sample", query_id=query_id, result=FetchResult(bad_page, next_cursor="3"))
    assert (result.stored, result.set_aside, result.duplicates) == (1, 1, 0)
    assert count(db) == 2
    with db.read() as session:
        assert read_cursor(session, query_id) == "3"
        (entry,) = session.scalars(select(AuditEntry).where(AuditEntry.action == SET_ASIDE))
    assert "created_at must be a timezone-aware datetime" in entry.details["reason"]
    assert entry.details["mention"]["external_id"] == "2" and entry.details["mention"]["text"] == "post 2 about acme"


def test_mentions_for_another_platform_are_refused(db: Database, query_id: int) -> None:
    with pytest.raises(IngestError, match="returned mentions for platform"):
        ingest_page(db, connector="sample", query_id=query_id, result=FetchResult([mention("x", 1)], next_cursor="1"))
    assert count(db) == 0


def test_untrusted_fields_are_normalised(db: Database, query_id: int) -> None:
    weird = mention("sample", 1, text="nul\x00 inside <script>alert(1)</script>", url="javascript:alert(1)",
                    lang=" EN ", raw={"note": "a\x00b", "n": float("nan")})
    ingest_page(db, connector="sample", query_id=query_id, result=FetchResult([weird], next_cursor="1"))
    with db.read() as session:
        stored = session.scalars(select(Mention)).one()
    assert stored.text == "nul inside <script>alert(1)</script>"  # stored as given; escaping is the viewer's job
    assert stored.url is None and stored.raw == {"note": "ab", "n": None}
    assert stored.lang == "en"


def stored_by_id(db: Database) -> dict[str, Mention]:
    with db.read() as session:
        return {m.external_id: m for m in session.scalars(select(Mention))}


def test_a_lang_that_is_not_a_language_tag_is_dropped_and_the_post_kept(db: Database, query_id: int) -> None:
    # An RSS item's xml:lang arrives as written: this one made every browser showing the Incidents page
    # load an image from a stranger's server (the languages are part of a Markdown label there).
    langs = {"1": "![](//e.co/p)", "2": "pt-BR", "3": "zh-Hant", "4": "und", "5": " EN ", "6": "en_US",
             "7": "[x](https://e.co)", "8": "en\u202e", "9": "sl-rozaj-biske-1994", "10": ":red[hi]"}
    page = [mention("sample", int(n), lang=lang) for n, lang in langs.items()]
    result = ingest_page(db, connector="sample", query_id=query_id, result=FetchResult(page, next_cursor="1"))
    assert result.stored == len(langs)  # a bad lang loses nothing else
    stored = stored_by_id(db)
    assert {n: m.lang for n, m in stored.items()} == {
        "1": None, "2": "pt-br", "3": "zh-hant", "4": "und", "5": "en", "6": "en-us",
        "7": None, "8": None, "9": "sl-rozaj-biske", "10": None}  # a long tag keeps the whole subtags that fit
    assert stored["1"].raw["lang_as_sent"] == "![](//e.co/p)"  # what came is kept for whoever looks
    assert "lang_as_sent" not in stored["2"].raw


def test_a_follower_count_past_what_the_database_holds_is_stored_as_unknown(db: Database, query_id: int) -> None:
    # One such post (a server's bogus count) failed its page with an OverflowError on every round, so the
    # query's cursor never moved on.
    page = [mention("sample", 1, author_followers=2**64), mention("sample", 2, author_followers=2**63 - 1)]
    result = ingest_page(db, connector="sample", query_id=query_id, result=FetchResult(page, next_cursor="1"))
    assert result.stored == 2
    with db.read() as session:
        assert read_cursor(session, query_id) == "1"
    stored = stored_by_id(db)
    assert stored["1"].author_followers is None and stored["1"].raw["author_followers_as_sent"] == str(2**64)
    assert stored["2"].author_followers == 2**63 - 1


def test_a_post_dated_after_it_was_fetched_is_dated_when_fetched(db: Database, query_id: int) -> None:
    # An RSS pubDate of 9999-12-31 parses fine; stored as such it stopped the queue page for everyone
    # (the SLA deadline overflowed). Year 1 with a +05:00 offset raised OverflowError out of ingest.
    soon = utcnow() + timedelta(hours=2)  # a platform's clock a little ahead: dated when fetched too
    dates = {"1": datetime(9999, 12, 31, 23, 30, tzinfo=timezone.utc),
             "2": datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=5))),
             "3": datetime(1970, 1, 1, tzinfo=timezone.utc),  # a zero timestamp
             "4": utcnow() + timedelta(days=3),
             "5": soon,
             "6": datetime(2004, 2, 4, tzinfo=timezone(timedelta(hours=-5)))}  # old, but believable
    before = utcnow()
    page = [mention("sample", int(n), created_at=when) for n, when in dates.items()]
    ingest_page(db, connector="sample", query_id=query_id, result=FetchResult(page, next_cursor="1"))
    stored = stored_by_id(db)
    assert len(stored) == len(dates)
    for n in ("1", "2", "3", "4", "5"):
        assert stored[n].created_at == stored[n].fetched_at and stored[n].fetched_at >= before, n
        assert stored[n].raw["created_at_as_sent"] == dates[n].isoformat(), n
    assert stored["1"].raw["created_at_as_sent"] == "9999-12-31T23:30:00+00:00"
    assert stored["6"].created_at == datetime(2004, 2, 4, 5, tzinfo=timezone.utc)


def test_billable_reads_are_counted_per_day(db: Database, query_id: int, monkeypatch: pytest.MonkeyPatch) -> None:
    # Ingest and the read below on one clock: UTC midnight passing between them split the count over two days.
    now = [utcnow()]
    monkeypatch.setattr("monitor.ingest.utcnow", lambda: now[0])
    for cursor in ("1", "2"):
        ingest_page(db, connector="sample", query_id=query_id, result=FetchResult([], next_cursor=cursor, units_used=40))
    with db.read() as session:
        assert usage_today(session, "sample") == 80
    now[0] += timedelta(days=1)
    with db.read() as session:
        assert usage_today(session, "sample") == 0  # a new day, a new count


def test_a_large_page_is_stored_in_chunks(db: Database, query_id: int) -> None:
    page = [mention("sample", n) for n in range(1_234)]
    result = ingest_page(db, connector="sample", query_id=query_id, result=FetchResult(page, next_cursor="x"))
    assert result.stored == 1_234 and count(db) == 1_234


def test_config_changes_to_brands_and_queries_are_audited_once(db: Database) -> None:
    from monitor.models import AuditEntry

    def settings_entries() -> list[tuple[str, str, dict]]:
        with db.read() as session:
            return [(e.actor, e.action, e.details) for e in session.scalars(
                select(AuditEntry).where(AuditEntry.action.like("settings.%")).order_by(AuditEntry.id))]

    sync_brands(db, CONFIG.brands, {"sample": CONFIG.queries_for("sample")})
    assert [a for _, a, _ in settings_entries()] == ["settings.brand", "settings.query"]  # added from the config
    sync_brands(db, CONFIG.brands, {"sample": CONFIG.queries_for("sample")})
    assert len(settings_entries()) == 2  # an unchanged config is no change

    edited = Config.from_dict({"brands": [{"name": "Acme", "keywords": ["acme", "acme app"], "reply_approval": True}],
                               "connectors": {"sample": {}}}, env={})
    sync_brands(db, edited.brands, {"sample": edited.queries_for("sample")})
    actor, action, details = settings_entries()[2]
    assert (actor, action) == ("config", "settings.brand")
    assert details["before"]["reply_approval"] is False and details["after"]["reply_approval"] is True
    actor, action, details = settings_entries()[3]
    assert action == "settings.query" and details["before"]["keywords"] == ["acme"]
    assert details["after"]["keywords"] == ["acme", "acme app"]
