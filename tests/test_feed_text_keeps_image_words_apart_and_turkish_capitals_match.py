"""Feed and keyword reading as people read it: an image's alt text stands apart from the words beside it (a
headline photo's "Photo: Reuters" glued to "Orbisto" hid the brand, and the entry was lost for good), and Turkish
capitals match their keywords ("İKEA" is "ikea")."""

from __future__ import annotations

import pytest

from connectors import keywords
from connectors.rss import plain


@pytest.mark.parametrize("markup", ['<p><img src="a.jpg" alt="Photo: Reuters">Orbisto shares fell</p>',
                                    'Support at Orbisto<img alt="logo" src="l.png">is down'])
def test_an_images_words_stand_apart_from_the_brand(markup: str) -> None:
    assert keywords.matches(plain(markup), ["Orbisto"], [])


def test_an_emoji_image_stays_in_its_place() -> None:
    assert plain('Orbisto refund<img class="wp-smiley" alt="😡" src="x.png">') == "Orbisto refund😡"


@pytest.mark.parametrize("keyword, text", [("ikea", "İKEA'dan aldığım dolap"), ("işbank", "İşbank şubesi"),
                                           ("İstanbul", "istanbul mağazası")])
def test_turkish_dotted_capitals_match_their_keywords(keyword: str, text: str) -> None:
    assert keywords.matches(text, [keyword], [])
