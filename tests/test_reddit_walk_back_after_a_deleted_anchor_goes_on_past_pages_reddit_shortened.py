"""Reddit: after the item a sub-cursor stood on was deleted, the walk back from the newest page reads every
item down to the anchor's place although Reddit left some out of a page (removed, spam-filtered, by an author
the account blocked: a page of 5 comes with 4, or none, its ``after`` still set). Until 2026-12-07 any page
shorter than ``page_size`` was taken for the listing's end: the items between it and the anchor were never
read, the cursor moved past them and no warning said so."""

from __future__ import annotations

import json

import pytest

from connectors.base import Query
from connectors.emulators import DEMO_BRAND, RunningEmulators, start_emulators
from connectors.emulators.server import Request, Response
from tests.emulator_fixtures import BACKLOG_END, drain, reddit_connector
from tests.fault_tools import rewrite_answers

PAGE = 5
QUERY = Query(key="orbisto", brand=DEMO_BRAND, keywords=(DEMO_BRAND,))


def leave_out(running: RunningEmulators, hidden: set[str]) -> None:
    """Reddit's listings leave out the items the reader may not see, keeping the page's ``after``."""
    def rewrite(request: Request, response: Response) -> Response:
        payload = response.payload
        if isinstance(payload, dict) and payload.get("kind") == "Listing":
            children = payload["data"]["children"]
            children[:] = [child for child in children if child["data"].get("name") not in hidden]
        return response

    rewrite_answers(running.reddit_server, rewrite)


# Comments posted after the anchor, newest last: one of the newest page left out, or all of it.
@pytest.mark.parametrize("hidden_from_newest", [[1], [0, 1, 2, 3, 4]], ids=["one of a page", "a whole page"])
def test_items_between_a_shortened_page_and_the_deleted_anchor_are_read(hidden_from_newest: list[int]) -> None:
    with start_emulators(seed=7, backlog=30, backlog_end=BACKLOG_END) as running:
        connector = reddit_connector(running, page_size=PAGE, comment_subreddits=["technology"],
                                     search_subreddits=[], inbox_mentions=False)
        anchor = running.reddit.add_comment(f"{DEMO_BRAND} anchor comment", subreddit="technology")
        _, cursor, _ = drain(connector, QUERY, None)
        assert cursor is not None and json.loads(cursor)["comments"] == anchor
        running.reddit.delete(anchor)  # removed by a moderator: Reddit answers `before` it with nothing
        posted = [running.reddit.add_comment(f"{DEMO_BRAND} question {i}", subreddit="technology")
                  for i in range(12)]
        hidden = {posted[-1 - i] for i in hidden_from_newest}
        leave_out(running, hidden)

        read, cursor, _ = drain(connector, QUERY, cursor)
        later, _, _ = drain(connector, QUERY, cursor)

        assert sorted(m.external_id for m in read) == sorted(set(posted) - hidden)
        assert later == []  # read once
