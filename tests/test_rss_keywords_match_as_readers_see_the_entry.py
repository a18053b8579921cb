"""A feed entry is matched as a reader sees it: tags that end a line part words, any whitespace parts a phrase's
words, and accents, case and typographic apostrophes are compared as the same letters. Until 2026-12-07 such
entries were silently dropped, and their ids were kept as read, so they never came again."""

from __future__ import annotations

from collections.abc import Iterator
from xml.sax.saxutils import escape

import pytest

from connectors.base import Query
from connectors.rss import RssConnector, RssSettings
from tests.more_sources_fixtures import FAST_RETRIES, static_site

QUERY = Query(key="acme", brand="Acme Bank", keywords=("Acme Bank", "Domino's", "Café Rio"), exclude=("job fair",))


@pytest.fixture
def feed_url() -> Iterator[tuple[str, dict[str, str]]]:
    """A local server for one RSS feed: its URL, and the body to serve (under "/body")."""
    served: dict[str, str] = {}
    with static_site(served) as base:
        yield f"{base}/body", served


def rss_feed(*items: tuple[str, str, str]) -> str:
    """An RSS 2.0 feed of (guid, title, description) items; title and description are HTML, escaped as feeds do."""
    rendered = [f"<item><guid>https://news.example.com/{guid}</guid><link>https://news.example.com/{guid}</link>"
                f"<title>{escape(title)}</title><description>{escape(description)}</description></item>"
                for guid, title, description in items]
    return ('<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>News</title>'
            "<link>https://news.example.com/</link><description>d</description>"
            + "".join(rendered) + "</channel></rss>")


def fetch_texts(url: str) -> dict[str, str]:
    connector = RssConnector(RssSettings(feeds=[url], **FAST_RETRIES))
    try:
        return {m.external_id.rsplit("/", 1)[1]: m.text for m in connector.fetch(QUERY, None).mentions}
    finally:
        connector.close()


def test_keywords_are_found_however_the_entry_spaces_spells_or_tags_them(feed_url: tuple[str, dict[str, str]]) -> None:
    url, served = feed_url
    served["/body"] = rss_feed(
        ("br", "Branch news", "Posted by staff<br />Acme Bank raises fees"),
        ("paragraphs", "Branch news", "<p>Read more from</p><p>Acme Bank</p>"),
        ("nbsp", "Acme&nbsp;Bank closes branches", ""),
        ("no-break-space", "Acme\u00a0Bank CEO resigns", ""),
        ("line-end", "Acme\nBank   CEO speaks", ""),
        ("apostrophe", "Domino\u2019s recalls pizzas", ""),
        ("decomposed", "Cafe\u0301 Rio opens in Denver", ""),
        ("capitals", "ACME BANK posts profits", ""),
        ("other", "Acmebank is another company", "<b>Acme</b>Bankers meet"),
    )
    texts = fetch_texts(url)
    assert set(texts) == {"br", "paragraphs", "nbsp", "no-break-space", "line-end", "apostrophe", "decomposed",
                          "capitals"}
    # The stored text reads as the page does: a line per break or paragraph, one space between words.
    assert texts["br"] == "Branch news\n\nPosted by staff\nAcme Bank raises fees"
    assert texts["paragraphs"] == "Branch news\n\nRead more from\nAcme Bank"
    assert texts["nbsp"] == "Acme\u00a0Bank closes branches"  # a no-break space stays one
    assert texts["line-end"] == "Acme Bank CEO speaks"
    assert texts["apostrophe"] == "Domino\u2019s recalls pizzas"


def test_excluded_terms_are_found_the_same_way(feed_url: tuple[str, dict[str, str]]) -> None:
    url, served = feed_url
    served["/body"] = rss_feed(
        ("nbsp", "Acme Bank hosts a job&nbsp;fair", ""),
        ("line-end", "Acme Bank hosts a JOB\nFAIR", ""),
        ("spaces", "Acme Bank is hiring", "<p>Come to our job \t fair in Leeds</p>"),
        ("news", "Acme Bank opens in Leeds", "<p>No job cuts.</p><p>Fair prices.</p>"),
    )
    assert set(fetch_texts(url)) == {"news"}
