"""Feed and post HTML is read as a browser shows it: a "<" that starts no tag ("I <3 Orbisto", "< 500 EUR") is text,
and a comment is hidden. Until 2026-12-07 everything from such a "<" to the next ">" was deleted as if it were a tag,
so a brand named between them was never found (and its entry was marked read for good), and a commented-out sponsor
slot's "<a>Orbisto</a>" was read as a mention, stored with the comment's "-->"."""

from __future__ import annotations

from connectors._http import html_to_text
from connectors.base import Query
from connectors.rss import RssConnector, RssSettings
from tests.more_sources_fixtures import FAST_RETRIES, static_site

QUERY = Query(key="orbisto", brand="Orbisto", keywords=("Orbisto",))


def _item(guid: str, title: str, description: str) -> str:
    return f"<item><guid>{guid}</guid><title>{title}</title><description>{description}</description></item>"


FEED = ('<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>t</title><link>https://e.example/'
        "</link><description>d</description>"
        + _item("https://e.example/love", "Customer stories", "I &lt;3 Orbisto -&gt; best support ever")
        + _item("https://e.example/price", "Price watch", "Scooters &lt; 500 EUR: Orbisto S2 now 449, was &gt; 600")
        # A reader sees only "Ten gadgets we liked.": the sponsor slot is commented out.
        + _item("https://e.example/roundup", "Weekly roundup", "&lt;p&gt;Ten gadgets we liked.&lt;/p&gt;"
                "&lt;!-- sponsor: &lt;a href='https://orbisto.example'&gt;Orbisto&lt;/a&gt; --&gt;")
        # What Word and Outlook put before the text.
        + _item("https://e.example/lyon", "Orbisto opens in Lyon", "&lt;!--[if gte mso 9]&gt;&lt;xml&gt;&lt;o:Settings"
                "&gt;&lt;/o:Settings&gt;&lt;/xml&gt;&lt;![endif]--&gt;&lt;p&gt;The store opens Monday.&lt;/p&gt;")
        + "</channel></rss>")


def test_a_feeds_less_than_signs_are_text_and_its_comments_hidden() -> None:
    with static_site({"/f.xml": FEED}) as base:
        connector = RssConnector(RssSettings(feeds=[f"{base}/f.xml"], **FAST_RETRIES))
        try:
            texts = {m.external_id: m.text for m in connector.fetch(QUERY, None).mentions}
        finally:
            connector.close()
    assert texts == {
        "https://e.example/love": "Customer stories\n\nI <3 Orbisto -> best support ever",
        "https://e.example/price": "Price watch\n\nScooters < 500 EUR: Orbisto S2 now 449, was > 600",
        "https://e.example/lyon": "Orbisto opens in Lyon\n\nThe store opens Monday.",
    }


def test_post_html_keeps_its_less_than_signs_and_hides_its_comments() -> None:
    # Hacker News and Mastodon text goes through the same reading.
    assert html_to_text("<p>I <3 Orbisto -> best</p><!-- <a>Acme</a> --><p>a < b and c > d</p>") == (
        "I <3 Orbisto -> best\n\na < b and c > d")
    assert html_to_text("Line<br>next<!-- left open <p>Acme") == "Line\nnext"
