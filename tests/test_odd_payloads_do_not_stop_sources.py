"""One odd item in an API page is read with what can be known of it (or, with no id to store it under, set
aside in the audit log), and the rest of the page and the cursor go on. Each of these used to fail the page:
the source then errored on every poll and never read anything newer."""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

import pytest
from sqlalchemy import select

from connectors.base import Query, ReplyTarget
from connectors.bluesky import BlueskyConnector, BlueskySettings
from connectors.emulators import DEMO_BLUESKY_HANDLE, DEMO_SECRETS, RunningEmulators
from connectors.emulators.server import Request, Response
from connectors.rss import RssConnector, RssSettings
from monitor import models
from monitor.storage import Database
from tests.fault_tools import rewrite_answers
from tests.more_sources_fixtures import FAST_RETRIES, one_connector_config, poll
from tests.test_odd_payloads_x_bluesky import odd_x_post, set_aside_entries, x_config


def stored(db: Database, platform: str) -> dict[str, models.Mention]:
    with db.read() as session:
        rows = session.scalars(select(models.Mention).where(models.Mention.platform == platform)).all()
        session.expunge_all()
        return {row.external_id: row for row in rows}


def fetched_lately(row: models.Mention, before: datetime) -> bool:
    """Dated when fetched, as a post whose own date cannot be believed is."""
    return before - timedelta(seconds=5) <= row.created_at.astimezone(timezone.utc) <= datetime.now(timezone.utc)


# -- X -----------------------------------------------------------------------------------------------


def test_x_posts_without_text_or_a_known_author_are_stored_and_the_source_goes_on(db: Database,
                                                                                   emulators: RunningEmulators) -> None:
    config = x_config(db, emulators)
    assert poll(db, config).ok
    no_text = emulators.x.add_post("Orbisto (text lost on the way)", username="quiet_one")
    no_author_id = emulators.x.add_post("Orbisto billing is broken", username="anonymous_one")
    unknown_author = emulators.x.add_post("Orbisto app crashes on start", username="vanished_one")
    odd_x_post(emulators, no_text, lambda tweet: tweet.pop("text"))
    odd_x_post(emulators, no_author_id, lambda tweet: tweet.pop("author_id"))
    odd_x_post(emulators, unknown_author, lambda tweet: tweet.__setitem__("author_id", "404404404"))
    later = emulators.x.add_post("Orbisto support fixed it", username="happy_later")
    report = poll(db, config)
    assert report.ok and report.set_aside == 0, report.error
    rows = stored(db, "x")
    assert {no_text, no_author_id, unknown_author, later} <= rows.keys()
    assert rows[no_text].text == "" and rows[no_text].author_handle == "quiet_one"
    for post_id in (no_author_id, unknown_author):
        assert rows[post_id].author_handle is None and rows[post_id].author_name is None
        assert rows[post_id].url == f"https://x.com/i/status/{post_id}"
        assert rows[post_id].raw["tweet"]["id"] == post_id
    assert rows[unknown_author].raw["tweet"]["author_id"] == "404404404", "what X sent stays in raw"
    emulators.x.add_post("Orbisto thanks!", username="happy_later")
    again = poll(db, config)
    assert again.ok and again.stored == 1, "the cursor moved past them: only the new post"


def check_a_post_without_an_id_is_set_aside(db: Database, config: Any, platform: str, add: Callable[[str, str], str],
                                            drop_id: Callable[[str], None]) -> None:
    """A post the platform sends without an id (``drop_id`` takes it out) cannot be stored: it is set aside whole
    in the audit log, and the post after it is stored. ``add(text, author)`` posts and returns the post's id."""
    assert poll(db, config).ok
    no_id = add("Orbisto lost my order 5521", "no_id")
    drop_id(no_id)
    later = add("Orbisto refund arrived", "happy_later")
    report = poll(db, config)
    assert report.ok and report.set_aside == 1 and report.stored == 1, report.error
    assert later in stored(db, platform)
    (entry,) = set_aside_entries(db)
    assert "no external id" in entry["reason"] and entry["mention"]["text"] == "Orbisto lost my order 5521"


def test_an_x_post_without_an_id_is_set_aside_and_the_rest_stored(db: Database, emulators: RunningEmulators) -> None:
    check_a_post_without_an_id_is_set_aside(
        db, x_config(db, emulators), "x", lambda text, author: emulators.x.add_post(text, username=author),
        lambda post_id: odd_x_post(emulators, post_id, lambda tweet: tweet.pop("id")))


# -- RSS ---------------------------------------------------------------------------------------------


def test_an_rss_entry_without_guid_or_link_is_stored_once_under_an_id_from_its_content(
        db: Database, emulators: RunningEmulators) -> None:
    feeds = emulators.feed_urls  # the news feed (RSS 2.0) first, then the blog and alerts
    config = one_connector_config(db, "rss", {"feeds": feeds})
    assert poll(db, config).ok
    title = "Orbisto recall notice"

    def without_guid_or_link(request: Request, response: Response) -> Response:
        if request.path.startswith("/news") and response.raw_body:
            pattern = rf"(<item><title>{title}</title>.*?)<link>[^<]*</link><guid[^>]*>[^<]*</guid>"
            response.raw_body = re.sub(pattern, r"\1", response.raw_body.decode()).encode()
        return response

    rewrite_answers(emulators.feeds_server, without_guid_or_link)
    emulators.feeds.add_entry("news", title, "Orbisto recalls the X2 router")
    blog = emulators.feeds.add_entry("blog", "Orbisto on our blog")
    for _ in range(2):
        report = poll(db, config)
        assert report.ok, report.error
    emulators.feeds.add_entry("news", "Orbisto recall widens")  # the news feed changed: read whole again
    assert poll(db, config).ok
    rows = [row for row in stored(db, "rss").values() if row.text.startswith(title)]
    assert len(rows) == 1, "stored once, though the feed repeats it at every poll"
    assert rows[0].external_id.startswith(feeds[0] + "#") and rows[0].raw["link"] is None
    assert blog in {row.raw["link"] for row in stored(db, "rss").values()}, "the feeds after it were read"
    query = Query(key="orbisto", brand="Orbisto", keywords=("Orbisto",))
    fresh = RssConnector(RssSettings(feeds=[feeds[0]], **FAST_RETRIES)).fetch(query, None)
    assert rows[0].external_id in {m.external_id for m in fresh.mentions}, "the same id when read afresh"


# -- Hacker News -------------------------------------------------------------------------------------


def odd_hn_hit(emulators: RunningEmulators, item_id: str, change: Callable[[dict[str, Any]], None]) -> None:
    def rewrite(request: Request, response: Response) -> Response:
        if isinstance(response.payload, dict):
            for hit in response.payload.get("hits") or []:
                if hit.get("objectID") == item_id:
                    change(hit)
        return response

    rewrite_answers(emulators.hackernews_server, rewrite)


TEN_YEARS_AHEAD = int(time.time()) + 10 * 365 * 24 * 3600
ODD_SECONDS: dict[str, Any] = {"text": "yesterday", "null": None, "negative": -5, "past datetime": 10**30,
                               "ten years ahead": TEN_YEARS_AHEAD}


@pytest.mark.parametrize("odd", list(ODD_SECONDS))
def test_an_hn_item_with_an_odd_created_at_i_is_dated_when_fetched_and_newer_items_still_read(
        odd: str, db: Database, emulators: RunningEmulators) -> None:
    config = one_connector_config(db, "hackernews", {"api_base_url": emulators.hackernews_url})
    assert poll(db, config).ok
    sent = ODD_SECONDS[odd]
    item = emulators.hackernews.add_story("Orbisto outage, anyone else?")
    odd_hn_hit(emulators, item, lambda hit: hit.__setitem__("created_at_i", sent))
    before = datetime.now(timezone.utc)
    report = poll(db, config)
    assert report.ok, report.error
    later = emulators.hackernews.add_comment("Orbisto is back up", author="pg_fan")
    for _ in range(2):  # and the round after: `since` was not moved past what is new
        assert poll(db, config).ok
    rows = stored(db, "hackernews")
    assert later in rows, "items newer than the odd one are still read"
    assert fetched_lately(rows[item], before) and rows[item].raw["created_at_as_sent"] == sent


def test_an_hn_item_without_an_author_is_stored_and_one_without_an_id_set_aside(db: Database,
                                                                               emulators: RunningEmulators) -> None:
    config = one_connector_config(db, "hackernews", {"api_base_url": emulators.hackernews_url})
    assert poll(db, config).ok
    no_author = emulators.hackernews.add_comment("Orbisto charged me twice", author="ghost")
    no_id = emulators.hackernews.add_comment("Orbisto never answered my ticket", author="someone")
    odd_hn_hit(emulators, no_author, lambda hit: hit.__setitem__("author", None))
    odd_hn_hit(emulators, no_id, lambda hit: hit.pop("objectID"))
    report = poll(db, config)
    assert report.ok and report.set_aside == 1, report.error
    rows = stored(db, "hackernews")
    assert rows[no_author].author_handle is None and rows[no_author].text == "Orbisto charged me twice"
    (entry,) = set_aside_entries(db)
    assert "no external id" in entry["reason"] and entry["mention"]["text"] == "Orbisto never answered my ticket"


# -- Bluesky -----------------------------------------------------------------------------------------


def odd_bluesky_author(emulators: RunningEmulators, uri: str, display_name: Any) -> None:
    """Give post ``uri``'s author ``display_name`` wherever search, notifications or getPosts serve it."""
    def rewrite(request: Request, response: Response) -> Response:
        if isinstance(response.payload, dict):
            for post in (response.payload.get("posts") or []) + (response.payload.get("notifications") or []):
                if post["uri"] == uri:
                    post["author"] = {**post["author"], "displayName": display_name}
        return response

    rewrite_answers(emulators.bluesky_server, rewrite)


ODD_NAMES: dict[str, Any] = {"a number": 42, "a list": ["Ana"], "an object": {"text": "Ana"}, "true": True,
                             "longer than the SDK allows": "Ana " * 200}


@pytest.mark.parametrize("odd", list(ODD_NAMES))
def test_a_bluesky_author_with_an_odd_display_name_is_read_and_the_page_with_them(
        odd: str, db: Database, emulators: RunningEmulators) -> None:
    env = {f"MENTIONDESK_BLUESKY_{k.upper()}": v for k, v in DEMO_SECRETS["bluesky"].items()}
    config = one_connector_config(db, "bluesky", {"api_base_url": emulators.bluesky_url, "page_size": 10},
                                  env=env, handle=DEMO_BLUESKY_HANDLE)
    assert poll(db, config).ok
    name = ODD_NAMES[odd]
    uri = emulators.bluesky.add_post("@orbisto.bsky.social Orbisto where is my refund", handle="odd.bsky.social")
    odd_bluesky_author(emulators, uri, name)
    later = emulators.bluesky.add_post("@orbisto.bsky.social Orbisto thanks!", handle="ben.bsky.social")
    report = poll(db, config)
    assert report.ok, report.error  # search and the mention notifications both
    rows = stored(db, "bluesky")
    assert {uri, later} <= rows.keys() and rows[uri].author_handle == "odd.bsky.social"
    if isinstance(name, str):
        assert rows[uri].author_name == name[:500]
    else:
        assert rows[uri].author_name is None and rows[uri].raw["author_name_as_sent"] == name


def test_a_bluesky_post_whose_author_has_an_odd_display_name_can_be_replied_to(emulators: RunningEmulators) -> None:
    connector = BlueskyConnector(BlueskySettings(api_base_url=emulators.bluesky_url, **FAST_RETRIES),
                                 dict(DEMO_SECRETS["bluesky"]))
    post = emulators.bluesky.add_post("@orbisto.bsky.social my parcel is lost", handle="odd.bsky.social")
    odd_bluesky_author(emulators, post, 42)
    target = ReplyTarget("bluesky", post, True, raw={"uri": post, "mentions_brand": True})
    posted = connector.reply(target, "Sorry! Please send your order number.", "key-1")
    (shown,) = emulators.bluesky.replies_to(post)
    assert shown["uri"] == posted.external_id
