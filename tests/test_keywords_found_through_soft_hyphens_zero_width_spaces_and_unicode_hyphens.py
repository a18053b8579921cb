"""A brand keyword is found as a reader sees the text: through a soft hyphen (U+00AD, "&shy;", which publishing
systems put into headlines for hyphenation), a zero-width space or joiner inside the word, and a non-breaking or
Unicode hyphen for "-". Until 2026-12-07 such feed entries, Reddit comments and urgent posts were silently missed,
though the reader saw "Orbisto" and "T-Mobile"."""

from __future__ import annotations

import pytest

from connectors import keywords
from connectors.base import Query
from connectors.rss import RssConnector, RssSettings
from tests.more_sources_fixtures import FAST_RETRIES, static_site
from tests.test_rss_keywords_match_as_readers_see_the_entry import rss_feed


def test_feed_entries_with_soft_hyphens_and_unicode_hyphens_are_kept() -> None:
    served = {"/feed": rss_feed(
        ("soft-hyphen", "Orbis\u00adto ruft E-Roller zur\u00fcck", ""),
        ("shy-entity", "Kundendienst", "<p>Der Orbis&shy;to-Kundendienst schweigt</p>"),
        ("zero-width", "Or\u200bbisto outage", ""),
        ("non-breaking-hyphen", "T\u2011Mobile outage hits millions", ""),
        ("other", "Orbistore opens", "T \u2013 Mobile"),  # another word; a dash is no hyphen
    )}
    query = Query(key="orbisto", brand="Orbisto", keywords=("Orbisto", "T-Mobile"))
    with static_site(served) as base:
        connector = RssConnector(RssSettings(feeds=[f"{base}/feed"], **FAST_RETRIES))
        try:
            kept = {m.external_id.rsplit("/", 1)[1] for m in connector.fetch(query, None).mentions}
        finally:
            connector.close()
    assert kept == {"soft-hyphen", "shy-entity", "zero-width", "non-breaking-hyphen"}


@pytest.mark.parametrize(("keyword", "text", "found"), [
    ("Orbisto", "Orbis\u00adto is down", True),  # soft hyphen
    ("Orbis\u00adto", "Orbisto is down", True),  # in the keyword, pasted from such a headline
    ("Orbisto", "Or\u200bbisto is down", True),  # zero-width space
    ("Orbisto", "Orbis\u200dto\ufeff is down", True),  # zero-width joiner, byte order mark
    ("Orbisto", "Orbisto\u2060s is down", False),  # a word joiner: the reader sees one word, "Orbistos"
    ("Coca-Cola", "Coca\u2011Cola recall", True),  # non-breaking hyphen
    ("Coca-Cola", "Coca\u2010Cola recall", True),  # hyphen
    ("Coca\u2011Cola", "Coca-Cola recall", True),
    ("Coca-Cola", "Coca\u2013Cola recall", False),  # an en dash is no hyphen
])
def test_a_keyword_is_found_as_a_reader_sees_the_text(keyword: str, text: str, found: bool) -> None:
    assert keywords.matches(text, [keyword], []) is found
    # Urgent alerts' danger keywords are found the same way, and named as configured.
    assert keywords.first_found(text, ["refund", keyword]) == (keyword if found else None)
