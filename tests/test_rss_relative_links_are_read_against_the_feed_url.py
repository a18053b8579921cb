"""An entry linking its article relatively ("/posts/1", as many blogs' Atom feeds do) is stored with the link
read against the URL the feed came from (after redirects). Until 2026-12-07 it was stored with no link at all.
Entry ids stay as the feed wrote them, so entries stored before are not stored again."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from connectors.base import Query, ReplyNotAllowed, ReplyTarget
from connectors.emulators import DEMO_BRAND
from connectors.rss import RssConnector, RssSettings
from monitor import models
from monitor.storage import Database
from tests.more_sources_fixtures import FAST_RETRIES, one_connector_config, poll

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
    bodies = {"/blog/atom.xml": ATOM, "/news/rss.xml": RSS}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            if self.path == "/feed":
                self.send_response(301)
                self.send_header("location", "/blog/atom.xml")
                self.send_header("content-length", "0")
                self.end_headers()
                return
            body = bodies[self.path].encode()
            self.send_response(200)
            self.send_header("content-type", "application/xml; charset=utf-8")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


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
