"""A Reddit mention imported with only part of the reason it was not replyable (``locked`` without
``archived``) is answered or refused by what it holds: the reply crashed with KeyError until 2026-12-07."""

from __future__ import annotations

import pytest

from connectors.base import ReplyNotAllowed, ReplyTarget
from connectors.emulators import DEMO_SECRETS, RunningEmulators
from connectors.reddit import RedditConnector, RedditSettings


def _connector(emulators: RunningEmulators) -> RedditConnector:
    settings = RedditSettings(oauth_url=emulators.reddit_url, reddit_url=emulators.reddit_url)
    return RedditConnector(settings, dict(DEMO_SECRETS["reddit"]))


def test_an_open_thread_read_before_the_account_is_answered(emulators: RunningEmulators) -> None:
    comment = emulators.reddit.add_comment("u/orbisto_support my card was charged twice")
    connector = _connector(emulators)
    connector.reply(ReplyTarget("reddit", comment, replyable=False, raw={"locked": False}), "Sorry! DM us.", "k1")
    connector.close()
    assert [reply["body"] for reply in emulators.reddit.replies_to(comment)] == ["Sorry! DM us."]


@pytest.mark.parametrize("raw", [{"locked": True}, {"archived": True, "locked": False}])
def test_a_locked_or_archived_thread_is_still_refused(emulators: RunningEmulators, raw: dict) -> None:
    comment = emulators.reddit.add_comment("u/orbisto_support where is my parcel")
    connector = _connector(emulators)
    with pytest.raises(ReplyNotAllowed, match="locked or archived"):
        connector.reply(ReplyTarget("reddit", comment, replyable=False, raw=raw), "Sorry!", "k2")
    connector.close()
    assert emulators.reddit.replies_to(comment) == []
