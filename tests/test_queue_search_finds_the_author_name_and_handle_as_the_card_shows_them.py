"""The queue's "Search text or author" finds what a card shows as the author: the name (a feed post has no handle,
so until 2026-12-07 it could not be found by its author at all), and the handle written "@name", as the card does."""

from __future__ import annotations

import pytest

from monitor import queue
from monitor.storage import Database
from tests.test_dashboard_fixtures import add_mention
from tests.test_queue_search_case import matching_ids


@pytest.mark.parametrize("common", [False, True], ids=["rare term", "common term"])
def test_search_finds_the_author_name_and_the_at_handle(db: Database, monkeypatch: pytest.MonkeyPatch,
                                                        common: bool) -> None:
    feed_post = add_mention(db, platform="rss", text="Orbisto lost my parcel again", author_handle=None,
                            author_name="Jane Blogger")
    tweet = add_mention(db, platform="x", text="Orbisto support never answers", author_handle="jb_1984",
                        author_name="Jane Blogger")
    reply = add_mention(db, platform="x", text="@jb_1984 same here", author_handle="sam", author_name="Sam")
    greek = add_mention(db, text="Πού είναι η παραγγελία μου;", author_handle=None, author_name="ΣΟΦΊΑ ΠΑΠΑΔΟΠΟΎΛΟΥ")
    if common:
        monkeypatch.setattr(queue, "FTS_DRIVE_LIMIT", 0)  # as if each term were in very many mentions
    expected = {"Jane Blogger": [feed_post, tweet], "blogger": [feed_post, tweet],
                "σοφία παπαδοπούλου": [greek],
                "@jb_1984": [tweet, reply],  # the author as the card shows them, and a post naming them
                "@JB_19": [tweet, reply], "jb_1984": [tweet, reply]}
    assert {needle: matching_ids(db, needle) for needle in expected} == expected
    assert matching_ids(db, "@Jane") == []  # "@" marks a handle: not the name
