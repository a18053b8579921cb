"""X counts every URL as 23, and what is a URL is decided by twitter-text 3 (X's own library).

Until 2026-12-07 mentiondesk took a bare domain for a URL only under 27 common top-level domains and
any ``https://`` text for one, so a reply linking ``acme.store/returns`` or ``help.acme.support`` was
counted by its letters (refused when long, let through when X would refuse it) and
``https://localhost/x`` counted 23. The expected figures come from twitter-text itself
(``tests/data/x_twitter_text_lengths.js`` recounts them).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from connectors.x import MAX_TWEET_CHARS, XConnector
from connectors.x_text import x_url_spans, x_weighted_length
from monitor.templates import check_length

FIXTURE = json.loads((Path(__file__).parent / "data" / "x_twitter_text_lengths.json").read_text("utf-8"))


@pytest.mark.parametrize("case", FIXTURE["cases"], ids=range(len(FIXTURE["cases"])))
def test_the_weighted_length_and_links_are_twitter_texts(case: dict) -> None:
    assert x_weighted_length(case["text"]) == case["weighted_length"]
    assert [case["text"][start:end] for start, end in x_url_spans(case["text"])] == case["urls"]


def test_a_link_under_any_top_level_domain_counts_23() -> None:
    # .music and .spa joined the root after twitter-text's copy of the list; X links them, so do we.
    for domain in ("acme.store", "help.acme.support", "acme.music/tour", "status.acme.cloud", "acme.рф"):
        assert x_weighted_length(f"see {domain} now") == 4 + 23 + 4, domain


def test_a_word_with_a_dot_that_is_no_domain_counts_its_letters() -> None:
    assert x_weighted_length("see file.txt or v1.2.3") == 22
    assert x_weighted_length("https://localhost:8080/x") == 24


def test_a_reply_with_a_long_link_is_not_refused_as_too_long() -> None:
    link = "https://help.acme.support/articles/" + "returns-and-refunds-" * 10
    text = "a" * 250 + " " + link
    assert x_weighted_length(text) == 251 + 23 <= MAX_TWEET_CHARS
    check_length(XConnector.capabilities, "x", text)  # raises ReplyTooLong when over


def test_a_long_run_of_dotted_words_is_counted() -> None:
    # Each start is worked out once: 10,000 characters of "a." finish at once and count one each; a
    # domain that long is one link, up to twitter-text's 4,096 characters.
    assert x_weighted_length("a." * 5000) == 10000
    assert x_weighted_length("a." * 2000 + "com") == 23
    assert x_weighted_length("a." * 2100 + "com") == 4203
