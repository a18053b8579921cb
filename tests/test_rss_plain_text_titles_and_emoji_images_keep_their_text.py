"""An entry's plain text (an Atom type="text" title, an RSS title with no tags) is kept as written, and an image's
alt text (WordPress sends each emoji as an <img alt="😡">) is read as text. Until 2026-12-07 every field went
through the HTML tag stripper: "battery < 20% and temp > 40C" lost "< 20% and temp >", a brand written "<Orbisto>"
was not found, and emoji, which tell how a customer feels, were dropped. Markup is still read as a browser shows
it."""

from __future__ import annotations

from connectors.base import Query
from connectors.rss import RssConnector, RssSettings, plain
from tests.more_sources_fixtures import FAST_RETRIES, static_site

QUERY = Query(key="orbisto", brand="Orbisto", keywords=("Orbisto",))

ATOM = """<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><id>urn:f</id>
<updated>2026-01-01T00:00:00Z</updated>
<entry><id>urn:e:firmware</id><updated>2026-01-01T00:00:00Z</updated>
<title type="text">Orbisto firmware: if battery &lt; 20% and temp &gt; 40C it shuts down</title></entry>
<entry><id>urn:e:angle</id><updated>2026-01-01T00:00:00Z</updated>
<title type="text">Ordered from &lt;Orbisto&gt; store</title>
<content type="text">Line one &lt;b&gt;kept&lt;/b&gt;
line two</content></entry>
<entry><id>urn:e:html</id><updated>2026-01-01T00:00:00Z</updated>
<title type="html">&lt;b&gt;Orbisto&lt;/b&gt; &amp;amp; co</title>
<summary type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><p>first</p><p>second</p></div></summary></entry>
</feed>"""

RSS = """<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title><link>http://x/</link>
<description>d</description><item><guid>urn:e:emoji</guid><title>My Orbisto order</title><description>Third week
waiting for my Orbisto refund &lt;img draggable="false" role="img" class="emoji" alt="&amp;#x1f621;"
src="https://s.w.org/images/core/emoji/15.0.3/72x72/1f621.png"&gt; &lt;img class='wp-smiley' alt='👎' /&gt;
&lt;img src="https://x.example/no-alt.png"&gt;</description></item></channel></rss>"""


def test_plain_text_is_kept_and_markup_read_as_shown() -> None:
    with static_site({"/atom": ATOM, "/rss": RSS}) as base:
        connector = RssConnector(RssSettings(feeds=[f"{base}/atom", f"{base}/rss"], **FAST_RETRIES))
        try:
            first = connector.fetch(QUERY, None)
            second = connector.fetch(QUERY, first.next_cursor)
        finally:
            connector.close()
    texts = {m.external_id.rsplit(":", 1)[1]: m.text for m in first.mentions + second.mentions}
    assert texts == {
        "firmware": "Orbisto firmware: if battery < 20% and temp > 40C it shuts down",
        "angle": "Ordered from <Orbisto> store\n\nLine one <b>kept</b> line two",
        "html": "Orbisto & co\n\nfirst\nsecond",
        "emoji": "My Orbisto order\n\nThird week waiting for my Orbisto refund \U0001f621 👎",
    }


def test_image_alt_text_is_read_in_place() -> None:
    assert plain('Love it<img alt="😍" src="a.png">!<img data-alt="x" src="b.png"> <IMG SRC=c ALT=ok>') == "Love it😍! ok"
