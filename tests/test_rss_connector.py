"""The RSS/Atom connector (requests conditional GETs + feedparser) against the local feeds."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from connectors.base import BadPayload, Query, RateLimited, ReplyNotAllowed, ReplyTarget
from connectors.emulators import RunningEmulators
from connectors.rss import RssConnector, RssSettings
from monitor.storage import Database
from tests.emulator_fixtures import drain, stored_ids
from tests.more_sources_fixtures import FAST_RETRIES, one_connector_config, poll, static_site, stored_rows

QUERY = Query(key="orbisto", brand="Orbisto", keywords=("Orbisto",))


def rss(running: RunningEmulators, **settings: object) -> RssConnector:
    return RssConnector(RssSettings(**{"feeds": running.feed_urls, **FAST_RETRIES, **settings}))


@pytest.fixture
def static_feeds() -> Iterator[tuple[str, dict[str, str]]]:
    """A plain HTTP server for feeds the emulator never writes: its base URL, and path -> body to serve."""
    bodies: dict[str, str] = {}
    with static_site(bodies) as base:
        yield base, bodies


def rss_document(*items: tuple[str, str, str]) -> str:
    """An RSS 2.0 feed of (title, link, guid) items; a guid that is not a URL is marked so."""
    rendered = [f"<item><title>{title}</title><link>{link}</link>"
                f'<guid isPermaLink="{str(guid.startswith("https://")).lower()}">{guid}</guid></item>'
                for title, link, guid in items]
    return ('<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Example</title>'
            "<link>https://example.com/</link><description>News</description>" + "".join(rendered) + "</channel></rss>")


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


def test_a_feed_that_is_not_xml_raises_bad_payload(emulators: RunningEmulators) -> None:
    emulators.feeds.inject("malformed_json")
    with pytest.raises(BadPayload, match="not well-formed XML"):
        rss(emulators).fetch(QUERY, None)


def test_entries_without_guid_link_or_dates_are_read_under_ids_from_their_content(emulators: RunningEmulators) -> None:
    emulators.feeds.inject("missing_fields")
    mentions = rss(emulators).fetch(QUERY, None).mentions
    assert mentions and all("#content-sha256-" in m.external_id for m in mentions)


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


def test_a_complete_feed_with_an_html_entity_is_read_with_a_warning(static_feeds: tuple[str, dict[str, str]],
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    base, bodies = static_feeds
    # &nbsp; is HTML, not XML: not well-formed, but feedparser's lenient parser reads every entry. The comment
    # after the document is what page caches add.
    bodies["/f.xml"] = rss_document(("Orbisto&nbsp;outage in Lyon", "https://e.example/1", "https://e.example/1"),
                                    ("Orbisto refunds customers", "https://e.example/2", "https://e.example/2"),
                                    ) + "\n<!-- served from cache in 0.02 s -->\n"
    connector = RssConnector(RssSettings(feeds=[base + "/f.xml"], **FAST_RETRIES))
    with caplog.at_level(logging.WARNING, logger="mentiondesk.connectors.rss"):
        page = connector.fetch(QUERY, None)
    assert [m.text for m in page.mentions] == ["Orbisto\xa0outage in Lyon", "Orbisto refunds customers"]
    assert "not well-formed XML (<unknown>:1:" in caplog.text and "undefined entity" in caplog.text
    # Cut off, or with nothing read, it is still refused.
    for body in (bodies["/f.xml"][:-60], rss_document().replace("News", "News&nbsp;today")):
        bodies["/f.xml"] = body
        with pytest.raises(BadPayload, match="not well-formed XML"):
            connector.fetch(QUERY, None)


def test_guids_that_are_not_urls_are_tied_to_their_feed(static_feeds: tuple[str, dict[str, str]],
                                                        sqlite_db: Database) -> None:
    base, bodies = static_feeds
    # Two CMS feeds numbering their items: the same guid, different articles.
    bodies["/a.xml"] = rss_document(("Orbisto opens a store in Lyon", "https://a.example/lyon", "42"))
    bodies["/b.xml"] = rss_document(("Orbisto fined for data breach", "https://b.example/fine", "42"),
                                    ("Orbisto hires", "https://b.example/hires", "https://b.example/hires"))
    config = one_connector_config(sqlite_db, "rss", {"feeds": [base + "/a.xml", base + "/b.xml"]})
    assert poll(sqlite_db, config).ok
    # A URL guid is the id it always was.
    assert stored_ids(sqlite_db, "rss") == {f"{base}/a.xml#42", f"{base}/b.xml#42", "https://b.example/hires"}
    # A cursor stored before ids named their feed holds the bare guid: that entry is not returned again.
    earlier = json.dumps({"pending": [], "feeds": {base + "/a.xml": {"seen": ["42"]}}})
    assert RssConnector(RssSettings(feeds=[base + "/a.xml"], **FAST_RETRIES)).fetch(QUERY, earlier).mentions == []


def test_a_feed_gone_does_not_stop_the_other_feeds(static_feeds: tuple[str, dict[str, str]],
                                                   sqlite_db: Database) -> None:
    # A deleted Google Alert answers 404 for good; until 2026-12-06 the cursor stayed on it, so from
    # the second poll on no other feed was read again.
    base, bodies = static_feeds
    bodies["/live.xml"] = rss_document(("Orbisto opens in Lyon", "https://e.example/1", "https://e.example/1"))
    config = one_connector_config(sqlite_db, "rss", {"feeds": [base + "/gone.xml", base + "/live.xml"]})
    for poll_number, new in enumerate(["https://e.example/1", "https://e.example/2"]):
        if poll_number:
            bodies["/live.xml"] = rss_document(("Orbisto hires", "http://[x", new))  # a link no URL parser reads
        report = poll(sqlite_db, config)
        assert f"{base}/gone.xml: " in (report.error or "") and "404" in (report.error or ""), report.error
        assert new in stored_ids(sqlite_db, "rss")
    assert stored_rows(sqlite_db, "rss")["https://e.example/2"]["raw"]["link"] == "http://[x"
