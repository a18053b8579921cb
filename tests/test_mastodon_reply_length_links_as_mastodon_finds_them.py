"""Mastodon counts a link as 23 characters, and finds links as twitter-text does, with a protocol: a link ends before
CJK text and trailing punctuation. Until 2026-12-07 everything after "https://" up to the next space counted as the
link, so a Chinese reply after a link showed about 31 of 500 in the reply box and Mastodon refused it at 503."""

from __future__ import annotations

from connectors.mastodon import status_length

LINK = "https://acme.com/help"


def test_text_after_a_link_without_a_space_is_counted() -> None:
    chinese = "很抱歉给您带来不便" * 53  # 477 characters
    assert status_length(f"{LINK}{chinese}") == 23 + 477
    assert status_length(f"See {LINK}, then reply.") == 4 + 23 + len(", then reply.")


def test_only_links_with_a_protocol_count_23() -> None:
    assert status_length("see acme.com/help") == len("see acme.com/help")
    assert status_length("@ana@mastodon.social read https://acme.store/returns?id=1") == len("@ana read ") + 23
