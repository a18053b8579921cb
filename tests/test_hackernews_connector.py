"""The Hacker News connector (requests + the Algolia HN Search API) against the Algolia emulator."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from connectors.base import BadPayload, ConnectorError, Query, RateLimited, ReplyNotAllowed, ReplyTarget
from connectors.emulators import RunningEmulators
from connectors.emulators import hackernews_api
from connectors.hackernews import HackerNewsConnector, HackerNewsSettings, build_search_params, html_to_text
from monitor.storage import Database
from tests.emulator_fixtures import drain, stored_ids
from tests.more_sources_fixtures import FAST_RETRIES, one_connector_config, poll

QUERY = Query(key="orbisto", brand="Orbisto", keywords=("Orbisto",))


def hn(running: RunningEmulators, **settings: object) -> HackerNewsConnector:
    return HackerNewsConnector(HackerNewsSettings(api_base_url=running.hackernews_url, **{**FAST_RETRIES, **settings}))


def test_search_params_use_algolia_advanced_syntax() -> None:
    query = Query(key="k", brand="Acme", keywords=("Acme", "Acme Cloud"), exclude=("jobs",))
    assert build_search_params(query) == {
        "query": 'Acme "Acme Cloud" -jobs', "advancedSyntax": "true", "typoTolerance": "false",
        "optionalWords": "Acme,Acme Cloud",
    }
    assert build_search_params(Query(key="k", brand="Acme", raw="acme -hiring"))["query"] == "acme -hiring"
    assert html_to_text("<p>a &amp; <i>b</i><p>c") == "a & b\n\nc"


def test_first_poll_pages_through_stories_and_comments_then_only_newer(emulators: RunningEmulators) -> None:
    connector = hn(emulators, page_size=5, first_run_pages=50)
    mentions, cursor, pages = drain(connector, QUERY, None)
    assert len(pages) > 3
    ids = [m.external_id for m in mentions]
    assert len(ids) == len(set(ids)), "a page repeated items"
    assert {m.raw["source"] for m in mentions} == {"story", "comment"}
    assert all("orbisto" in m.text.lower() and "<p>" not in m.text for m in mentions)
    assert all(m.url == f"https://news.ycombinator.com/item?id={m.external_id}" and not m.replyable for m in mentions)
    assert all(m.thread_id and m.created_at.tzinfo for m in mentions)
    assert any(m.parent_id for m in mentions if m.raw["source"] == "comment")
    assert drain(connector, QUERY, cursor)[0] == []
    new = emulators.hackernews.add_comment("Orbisto lost my order again", author="pg_fan")
    assert [m.external_id for m in drain(connector, QUERY, cursor)[0]] == [new]


def test_cursor_resumes_after_restart_and_same_second_posts_are_not_lost(emulators: RunningEmulators) -> None:
    reference, _, _ = drain(hn(emulators, page_size=5, first_run_pages=50), QUERY, None)
    first = hn(emulators, page_size=5, first_run_pages=50)
    page1 = first.fetch(QUERY, None)
    page2 = first.fetch(QUERY, page1.next_cursor)
    first.close()
    rest, cursor, _ = drain(hn(emulators, page_size=5, first_run_pages=50), QUERY, page2.next_cursor)
    assert [m.external_id for m in page1.mentions + page2.mentions + rest] == [m.external_id for m in reference]

    a = emulators.hackernews.add_comment("Orbisto support is slow", author="one")
    seen, cursor, _ = drain(hn(emulators), QUERY, cursor)
    b = emulators.hackernews.add_comment("Orbisto support is fast", author="two")  # likely the same second as a
    later, _, _ = drain(hn(emulators), QUERY, cursor)
    assert [m.external_id for m in seen] == [a] and [m.external_id for m in later] == [b]


def test_items_algolia_indexes_late_are_read_by_the_next_walk(emulators: RunningEmulators) -> None:
    _, cursor, _ = drain(hn(emulators), QUERY, None)
    first = emulators.hackernews.add_comment("Orbisto charged me twice", author="alice")
    seen, cursor, _ = drain(hn(emulators), QUERY, cursor)
    # Posted 20 s before alice's comment, but searchable only after the walk that read hers.
    late = emulators.hackernews.add_comment("Orbisto support never answers", author="bob",
                                            created_at=datetime.now(timezone.utc) - timedelta(seconds=20))
    later, cursor, _ = drain(hn(emulators), QUERY, cursor)
    assert [m.external_id for m in seen] == [first] and [m.external_id for m in later] == [late]
    assert drain(hn(emulators), QUERY, cursor)[0] == []  # what the overlap reads again is not returned twice


def test_walks_past_algolias_pagination_limit(emulators: RunningEmulators, monkeypatch: pytest.MonkeyPatch) -> None:
    everything, _, _ = drain(hn(emulators, page_size=100, first_run_pages=50), QUERY, None)
    monkeypatch.setattr(hackernews_api, "PAGINATION_LIMIT", 8)
    capped, _, _ = drain(hn(emulators, page_size=4, first_run_pages=50), QUERY, None)
    assert len(everything) > 8
    assert {m.external_id for m in capped} == {m.external_id for m in everything}


def test_first_poll_reads_only_first_run_pages(emulators: RunningEmulators) -> None:
    mentions, _, pages = drain(hn(emulators, page_size=5), QUERY, None)
    assert len(pages) == 1 and len(mentions) == 5


def test_429_raises_rate_limited_and_the_cursor_stays(emulators: RunningEmulators) -> None:
    connector = hn(emulators, page_size=5, first_run_pages=50)
    page1 = connector.fetch(QUERY, None)
    emulators.hackernews.inject("rate_limit")
    with pytest.raises(RateLimited, match="429") as caught:
        connector.fetch(QUERY, page1.next_cursor)
    assert caught.value.retry_after > 0
    assert connector.fetch(QUERY, page1.next_cursor).mentions  # same cursor, next page


def test_server_errors_are_retried(emulators: RunningEmulators) -> None:
    emulators.hackernews.inject("server_error", times=2, status=503)
    assert hn(emulators).fetch(QUERY, None).mentions
    emulators.hackernews.inject("server_error", times=10, status=500)
    with pytest.raises(ConnectorError, match="500"):
        hn(emulators).fetch(QUERY, None)


def test_an_answer_that_is_not_json_raises_bad_payload(emulators: RunningEmulators) -> None:
    emulators.hackernews.inject("malformed_json")
    with pytest.raises(BadPayload, match="malformed JSON"):
        hn(emulators).fetch(QUERY, None)


def test_hits_without_author_or_time_are_read_without_them(emulators: RunningEmulators) -> None:
    emulators.hackernews.inject("missing_fields")
    mentions = hn(emulators).fetch(QUERY, None).mentions
    assert mentions and all(m.author_handle is None and "created_at_as_sent" in m.raw for m in mentions)


def test_replies_are_refused_with_a_link_out(emulators: RunningEmulators) -> None:
    served = emulators.hackernews.requests_served
    with pytest.raises(ReplyNotAllowed, match=r"news\.ycombinator\.com/item\?id=123"):
        hn(emulators).reply(ReplyTarget("hackernews", "123", replyable=False), "hi", "k")
    assert emulators.hackernews.requests_served == served


def test_poll_once_stores_hn_mentions_once(emulators: RunningEmulators, sqlite_db: Database) -> None:
    config = one_connector_config(sqlite_db, "hackernews", {"api_base_url": emulators.hackernews_url, "page_size": 10,
                                                             "first_run_pages": 20})
    assert poll(sqlite_db, config).ok
    stored = stored_ids(sqlite_db, "hackernews")
    assert len(stored) > 10
    assert poll(sqlite_db, config).stored == 0
    emulators.hackernews.inject("rate_limit")
    emulators.hackernews.add_story("Ask HN: is Orbisto down?")
    report = poll(sqlite_db, config)
    assert not report.ok and "rate limited" in (report.error or "") and stored_ids(sqlite_db, "hackernews") == stored
