"""An entry linking its article relatively ("/posts/1", as many blogs' Atom feeds do) is stored with the link
read against the URL the feed came from (after redirects). Until 2026-12-07 it was stored with no link at all.
Entry ids stay as the feed wrote them, so entries stored before are not stored again."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from connectors.base import Query, ReplyNotAllowed, ReplyTarget
from connectors.emulators import DEMO_BRAND
from connectors.rss import RssConnector, RssSettings
from monitor import models
from monitor.storage import Database
from tests.more_sources_fixtures import FAST_RETRIES, one_connector_config, poll, static_site

QUERY = Query(key="orbisto", brand=DEMO_BRAND, keywords=(DEMO_BRAND,))
ATOM = f"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Blog</title><id>urn:x:blog</id><updated>2026-05-01T10:00:00Z</updated>
<entry><title>{DEMO_BRAND} outage today</title><id>urn:x:1</id><link href="/posts/outage"/>
<updated>2026-05-01T10:00:00Z</updated></entry>
<entry><title>{DEMO_BRAND} answers</title><id>urn:x:2</id><link href="answers.html"/>
<updated>2026-05-01T11:00:00Z</updated></entry>
</feed>"""
RSS = f"""<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>News</title><link>/</link>
<description>d</description>
<item><title>{DEMO_BRAND} raises prices</title><link>/news/42.html</link><guid isPermaLink="false">42</guid></item>
</channel></rss>"""


@pytest.fixture
def site() -> Iterator[str]:
    """A local site: /blog/atom.xml and /news/rss.xml, and /feed redirecting to the blog's feed. Its base URL."""
    with static_site({"/blog/atom.xml": ATOM, "/news/rss.xml": RSS}, {"/feed": "/blog/atom.xml"}) as base:
        yield base


def test_relative_links_become_links_on_the_feeds_site(site: str) -> None:
    connector = RssConnector(RssSettings(feeds=[site + "/blog/atom.xml", site + "/news/rss.xml"], **FAST_RETRIES))
    blog = connector.fetch(QUERY, None)
    news = connector.fetch(QUERY, blog.next_cursor)
    links = {m.external_id: m.url for m in blog.mentions + news.mentions}
    assert links == {"urn:x:1": f"{site}/posts/outage", "urn:x:2": f"{site}/blog/answers.html",
                     f"{site}/news/rss.xml#42": f"{site}/news/42.html"}  # ids as the feed wrote them
    # The refusal to reply points at the article too.
    (outage,) = [m for m in blog.mentions if m.external_id == "urn:x:1"]
    with pytest.raises(ReplyNotAllowed, match=f"respond on the site: {site}/posts/outage"):
        connector.reply(ReplyTarget("rss", "urn:x:1", replyable=False, raw=outage.raw), "thanks", "k")


def test_links_are_read_against_the_url_the_feed_was_redirected_to(site: str, sqlite_db: Database) -> None:
    poll(sqlite_db, one_connector_config(sqlite_db, "rss", {"feeds": [site + "/feed"]}))
    with sqlite_db.read() as session:
        rows = session.execute(select(models.Mention.external_id, models.Mention.url)
                               .where(models.Mention.platform == "rss"))
        stored = {row.external_id: row.url for row in rows}
    assert stored == {"urn:x:1": f"{site}/posts/outage", "urn:x:2": f"{site}/blog/answers.html"}
