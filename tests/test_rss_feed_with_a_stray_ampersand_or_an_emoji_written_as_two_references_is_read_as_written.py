"""A feed with a stray "&" (the commonest fault of feeds) or with numeric character references to no character (an
emoji written as its two UTF-16 halves, "&#55357;&#56865;", as some CMSs write one; "&#x110000;") is read as its
writer meant it. Until 2026-12-07 feedparser's lenient parser read "AT&T Fiber" as "AT&T; Fiber" (stored so, and a
keyword "AT&T Fiber" missed it for good), and raised on such references, so the whole feed was lost at every poll as
an unexpected error. Whatever feedparser still cannot read refuses that feed alone, naming it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from connectors.base import BadPayload, Query
from connectors.rss import RssConnector, RssSettings
from tests.more_sources_fixtures import FAST_RETRIES, QuietHandler, serving

ORBISTO = Query(key="orbisto", brand="Orbisto", keywords=("Orbisto",))


def _feed(*items: tuple[str, str], encoding: str = "UTF-8") -> bytes:
    """An RSS 2.0 feed of (guid, title) items, written as given (faults and all), in ``encoding``."""
    rendered = "".join(f"<item><guid>{guid}</guid><title>{title}</title></item>" for guid, title in items)
    return (f'<?xml version="1.0" encoding="{encoding}"?><rss version="2.0"><channel><title>t</title>'
            f"<link>https://e.example/</link><description>d</description>{rendered}</channel></rss>").encode(encoding)


@contextmanager
def _feeds(bodies: dict[str, bytes]) -> Iterator[str]:
    class Handler(QuietHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            body = bodies[self.path]
            self.send_response(200)
            self.send_header("content-type", "application/rss+xml")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    with serving(Handler) as base:
        yield base


def _texts(base: str, paths: list[str], query: Query) -> dict[str, str]:
    connector = RssConnector(RssSettings(feeds=[base + path for path in paths], **FAST_RETRIES))
    try:
        return {m.external_id: m.text for m in connector.fetch(query, None).mentions}
    finally:
        connector.close()


def test_a_stray_ampersand_is_read_as_written() -> None:
    feed = _feed(("https://e.example/1", "AT&T Fiber outage across Texas"),
                 ("https://e.example/2", "M&S and AT&T Fiber team up &amp; more"))
    # In a CDATA section an "&" is text already: a plain-text title there says "&amp;" itself.
    atom = ('<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>AT&T</title>'
            "<id>urn:f</id><updated>2026-01-01T00:00:00Z</updated><entry><id>urn:e:cdata</id>"
            '<updated>2026-01-01T00:00:00Z</updated><title type="text"><![CDATA[AT&T Fiber: write & as &amp;]]>'
            "</title></entry></feed>").encode()
    query = Query(key="att", brand="AT&T", keywords=("AT&T Fiber",))
    with _feeds({"/f.xml": feed, "/atom.xml": atom}) as base:
        assert _texts(base, ["/f.xml"], query) == {"https://e.example/1": "AT&T Fiber outage across Texas",
                                                   "https://e.example/2": "M&S and AT&T Fiber team up & more"}
        assert _texts(base, ["/atom.xml"], query) == {"urn:e:cdata": "AT&T Fiber: write & as &amp;"}


def test_references_to_no_character_are_read_and_the_feed_is_not_lost() -> None:
    feed = _feed(("https://e.example/1", "Orbisto recalls its scooters"),
                 ("https://e.example/2", "Orbisto support ignored me &#55357;&#56865; &#xD83D;&#xDE21;"),
                 ("https://e.example/3", "Orbisto &#xD83D; &#x110000; &#99999999999; &#56865;!"))
    with _feeds({"/f.xml": feed}) as base:
        texts = _texts(base, ["/f.xml"], ORBISTO)
    assert texts == {"https://e.example/1": "Orbisto recalls its scooters",
                     "https://e.example/2": "Orbisto support ignored me \U0001F621 \U0001F621",
                     "https://e.example/3": "Orbisto \ufffd \ufffd \ufffd \ufffd!"}


def test_a_feed_feedparser_cannot_read_is_refused_by_name_and_the_others_read() -> None:
    # UTF-16 is not repaired (an "&" byte there may be part of another character): feedparser still raises on it.
    unreadable = _feed(("https://e.example/1", "Orbisto &#56865;"), encoding="UTF-16")
    with _feeds({"/u16.xml": unreadable, "/f.xml": _feed(("https://e.example/2", "Orbisto opens in Lyon"))}) as base:
        connector = RssConnector(RssSettings(feeds=[f"{base}/u16.xml", f"{base}/f.xml"], **FAST_RETRIES))
        try:
            with pytest.raises(BadPayload, match=rf"feed {base}/u16.xml could not be parsed") as refused:
                connector.fetch(ORBISTO, None)
            assert refused.value.resume is not None
            page = connector.fetch(ORBISTO, refused.value.resume.next_cursor)
        finally:
            connector.close()
    assert [m.external_id for m in page.mentions] == ["https://e.example/2"]
