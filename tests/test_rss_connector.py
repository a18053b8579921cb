"""The RSS/Atom connector (requests conditional GETs + feedparser) against the local feeds."""

from __future__ import annotations

import json

import pytest

from connectors.base import BadPayload, Query, RateLimited, ReplyNotAllowed, ReplyTarget
from connectors.emulators import RunningEmulators
from connectors.rss import RssConnector, RssSettings
from monitor.storage import Database
from tests.emulator_fixtures import drain, stored_ids
from tests.more_sources_fixtures import FAST_RETRIES, one_connector_config, poll

QUERY = Query(key="orbisto", brand="Orbisto", keywords=("Orbisto",))


def rss(running: RunningEmulators, **settings: object) -> RssConnector:
    return RssConnector(RssSettings(**{"feeds": running.feed_urls, **FAST_RETRIES, **settings}))


def test_reads_rss_atom_and_google_alerts_feeds_once_each(emulators: RunningEmulators) -> None:
    connector = rss(emulators)
    mentions, cursor, pages = drain(connector, QUERY, None)
    assert len(pages) == 3  # one page per feed
    assert {m.raw["feed"] for m in mentions} == set(emulators.feed_urls)
    assert all("orbisto" in m.text.lower() and "<b>" not in m.text and not m.replyable for m in mentions)
    alerts = [m for m in mentions if "alerts" in m.raw["feed"]]
    assert alerts and all(m.url and m.url.startswith("https://news.example.com/") for m in alerts), "Google's redirect unwrapped"
    assert all(m.created_at.tzinfo for m in mentions) and {m.lang for m in alerts} > {"en"}
    ids = [m.external_id for m in mentions]
    assert len(ids) == len(set(ids))
    served = emulators.feeds.requests_served
    assert drain(connector, QUERY, cursor)[0] == []  # 304 Not Modified for all three
    assert emulators.feeds.requests_served == served + 3


def test_conditional_get_sends_etag_and_last_modified(emulators: RunningEmulators) -> None:
    page = rss(emulators, feeds=[emulators.feed_urls[0]]).fetch(QUERY, None)
    state = json.loads(page.next_cursor or "")["feeds"][emulators.feed_urls[0]]
    assert state["etag"].startswith('"') and state["modified"].endswith("GMT")
    # Polled again, unchanged: the feed answers 304 (it got our validators) and nothing is parsed.
    again = rss(emulators, feeds=[emulators.feed_urls[0]]).fetch(QUERY, page.next_cursor)
    assert emulators.feeds.not_modified_served == 1 and again.mentions == []
    link = emulators.feeds.add_entry("news", "Orbisto opens a store in Lyon")
    changed = rss(emulators, feeds=[emulators.feed_urls[0]]).fetch(QUERY, again.next_cursor)
    assert emulators.feeds.not_modified_served == 1 and [m.external_id for m in changed.mentions] == [link]


def test_new_entries_only_and_restart_resumes_from_the_stored_cursor(emulators: RunningEmulators) -> None:
    _, cursor, _ = drain(rss(emulators), QUERY, None)
    new_link = emulators.feeds.add_entry("news", "Orbisto recalls its scooters", "Regulators asked Orbisto to act")
    emulators.feeds.add_entry("blog", "Ten tips for spring cleaning")  # no keyword
    later, _, _ = drain(rss(emulators), QUERY, cursor)  # a new connector instance, as after a restart
    assert [m.external_id for m in later] == [new_link]
    assert later[0].text == "Orbisto recalls its scooters\n\nRegulators asked Orbisto to act"


def test_excluded_terms_drop_entries(emulators: RunningEmulators) -> None:
    emulators.feeds.add_entry("news", "Orbisto is hiring engineers")
    query = Query(key="k", brand="Orbisto", keywords=("Orbisto",), exclude=("hiring",))
    mentions, _, _ = drain(rss(emulators), query, None)
    assert mentions and not any("hiring" in m.text for m in mentions)


def test_429_raises_rate_limited_with_retry_after_and_keeps_the_cursor(emulators: RunningEmulators) -> None:
    connector = rss(emulators)
    first = connector.fetch(QUERY, None)
    emulators.feeds.inject("rate_limit", retry_after=90, path_contains="/blog/")
    with pytest.raises(RateLimited) as caught:
        connector.fetch(QUERY, first.next_cursor)
    assert caught.value.retry_after == 90
    assert connector.fetch(QUERY, first.next_cursor).mentions  # the blog, read on the retry


@pytest.mark.parametrize(("fault", "message"), [("malformed_json", "not well-formed XML"), ("missing_fields", "without guid/id or link")])
def test_broken_feeds_raise_bad_payload(emulators: RunningEmulators, fault: str, message: str) -> None:
    emulators.feeds.inject(fault)  # type: ignore[arg-type]
    with pytest.raises(BadPayload, match=message):
        rss(emulators).fetch(QUERY, None)


def test_feeds_are_not_replyable(emulators: RunningEmulators) -> None:
    target = ReplyTarget("rss", "x", replyable=False, raw={"link": "https://news.example.com/a"})
    with pytest.raises(ReplyNotAllowed, match="news.example.com/a"):
        rss(emulators).reply(target, "hi", "k")


def test_poll_once_stores_feed_mentions_once(emulators: RunningEmulators, sqlite_db: Database) -> None:
    config = one_connector_config(sqlite_db, "rss", {"feeds": emulators.feed_urls})
    assert poll(sqlite_db, config).ok
    stored = stored_ids(sqlite_db, "rss")
    assert stored and poll(sqlite_db, config).stored == 0
    emulators.feeds.inject("malformed_json", path_contains="/news/")
    outage = emulators.feeds.add_entry("news", "Orbisto outage hits thousands")
    report = poll(sqlite_db, config)
    assert not report.ok and "well-formed" in (report.error or "")
    restored = emulators.feeds.add_entry("news", "Orbisto restores service")
    assert poll(sqlite_db, config).ok and {outage, restored} <= stored_ids(sqlite_db, "rss")
