"""Reddit's inbox items (message/mentions) are message-shaped: a u/ mention carries ``context``
("/r/<sub>/comments/<submission>/<slug>/<comment>/?context=3") but no ``permalink``, ``link_id``,
``locked`` or ``archived``. The connector read the link and the thread from permalink and link_id alone, so
every u/ mention from the inbox was stored with no link and no thread. It reads them from context now, as
praw does."""

from __future__ import annotations

from connectors.base import ReplyTarget
from connectors.emulators import RunningEmulators
from tests.emulator_fixtures import REDDIT_QUERY, drain, reddit_connector

TEXT = "u/orbisto_support my order never came, please help"


def test_reddits_inbox_items_carry_context_in_place_of_permalink_and_link_id(emulators: RunningEmulators) -> None:
    name = emulators.reddit.add_comment(TEXT, subreddit="technology")
    connector = reddit_connector(emulators)
    listing = connector.reddit.request(method="GET", path="message/mentions", params={"limit": "100"})
    [item] = [c["data"] for c in listing["data"]["children"] if c["data"]["name"] == name]
    assert not {"permalink", "link_id", "locked", "archived"} & set(item)
    assert item["context"].endswith(f"/{name[3:]}/?context=3") and item["parent_id"].startswith("t3_")
    connector.close()


def test_a_u_mention_from_the_inbox_is_stored_with_its_link_and_thread(emulators: RunningEmulators) -> None:
    name = emulators.reddit.add_comment(TEXT, subreddit="technology")
    inbox = reddit_connector(emulators, search_subreddits=[], comment_subreddits=[])
    [mention] = [m for m in drain(inbox, REDDIT_QUERY, None)[0] if m.external_id == name]
    # The same comment read from the subreddit's comment listing, which carries permalink and link_id.
    scan = reddit_connector(emulators, search_subreddits=[], comment_subreddits=["technology"], inbox_mentions=False)
    [scanned] = [m for m in drain(scan, REDDIT_QUERY, None)[0] if m.external_id == name]
    assert mention.raw["source"] == "mentions" and scanned.raw["source"] == "comments"
    assert mention.url == scanned.url and mention.url and mention.url.startswith("https://www.reddit.com/r/technology/")
    assert "?" not in mention.url  # the comment's own link, not the ?context=3 view
    assert (mention.thread_id, mention.parent_id) == (scanned.thread_id, scanned.parent_id)
    assert mention.thread_id and mention.thread_id.startswith("t3_")
    assert mention.replyable
    inbox.reply(ReplyTarget("reddit", name, replyable=True, raw=mention.raw), "Sorry! Please DM us.", "key-1")
    assert len(emulators.reddit.replies_to(name)) == 1
    inbox.close()
    scan.close()
