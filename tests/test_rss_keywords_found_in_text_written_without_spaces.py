"""A brand keyword is found in Chinese, Japanese, Thai and Korean entries, where no space parts it from the words
around it ("Orbisto的客服", "Orbistoで買った", "Orbisto에서"). Until 2026-12-07 a word boundary was required on
both sides, and CJK and Thai letters are word letters, so such entries were dropped and, their ids kept as read,
never came again. Words of scripts written with spaces still part only at a boundary ("Orbistore" is not it)."""

from __future__ import annotations

from xml.sax.saxutils import escape

from connectors.base import Query
from connectors.rss import RssConnector, RssSettings
from tests.more_sources_fixtures import FAST_RETRIES, static_site

QUERY = Query(key="orbisto", brand="Orbisto", keywords=("Orbisto", "オービスト", "오르비스토"), exclude=("求人",))


def matched(*titles: str) -> list[str]:
    """The titles, served as one RSS feed, that the connector returns as mentions."""
    items = "".join(f"<item><guid>urn:t:{n}</guid><title>{escape(t)}</title></item>" for n, t in enumerate(titles))
    feed = ('<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>t</title>'
            f"<link>https://news.example.com/</link><description>d</description>{items}</channel></rss>")
    with static_site({"/feed": feed}) as base:
        connector = RssConnector(RssSettings(feeds=[f"{base}/feed"], **FAST_RETRIES))
        try:
            return [m.text for m in connector.fetch(QUERY, None).mentions]
        finally:
            connector.close()


def test_latin_brand_inside_text_without_spaces_is_found() -> None:
    titles = [
        "Orbisto的客服太差了，退款一个月还没到",  # Chinese
        "Orbistoで買ったイヤホンが届かない",  # Japanese
        "สั่งของจากOrbistoแล้วไม่ได้รับของเลย",  # Thai
        "Orbisto에서 주문했는데 아직 안 왔어요",  # Korean: the particle attaches to the name
        "我在ORBISTO买的",  # any case
    ]
    assert matched(*titles) == titles


def test_keywords_in_those_scripts_are_found_inside_words() -> None:
    titles = ["オービスト最悪、返金されない", "最悪のオービスト", "오르비스토에서 환불 못 받음"]
    assert matched(*titles) == titles


def test_scripts_written_with_spaces_still_need_a_word_boundary() -> None:
    titles = ["Orbistore opens", "Orbisto2 launch", "Orbistoвый магазин", "the_orbisto fan", "new Orbisto, Ltd"]
    assert matched(*titles) == ["new Orbisto, Ltd"]


def test_excluded_terms_are_found_the_same_way() -> None:
    assert matched("Orbisto求人情報", "Orbisto의 求人 안내", "Orbisto新品") == ["Orbisto新品"]
