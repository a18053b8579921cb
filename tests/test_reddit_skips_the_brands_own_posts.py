"""Reddit: what the brand account wrote itself is not a mention. Comment scanning kept any comment with a keyword
and submission search any post, whoever wrote them: the brand's own support reply that named the brand came back
on the next poll as a new, replyable mention (queue, alerts, SLA). X leaves out the brand's own posts and Bluesky
drops them too. Now every source (search, comments, inbox mentions) drops items by ``query.handle`` or the
username the connector logs in as, whatever the letter case."""

from __future__ import annotations

from connectors.base import Query, ReplyTarget
from connectors.emulators import DEMO_BRAND, DEMO_REDDIT_USERNAME, DEMO_SECRETS, RunningEmulators
from tests.emulator_fixtures import REDDIT_QUERY, drain, reddit_connector


def test_the_brands_own_reply_naming_the_brand_does_not_come_back_as_a_mention(emulators: RunningEmulators) -> None:
    connector = reddit_connector(emulators, page_size=10, comment_subreddits=["technology"],
                                 search_subreddits=["technology"])
    _, cursor, _ = drain(connector, REDDIT_QUERY, None)
    parent = emulators.reddit.add_comment(f"my {DEMO_BRAND} router broke, u/{DEMO_REDDIT_USERNAME}")
    found, cursor, _ = drain(connector, REDDIT_QUERY, cursor)
    assert {(m.external_id, m.raw["source"]) for m in found} == {(parent, "comments"), (parent, "mentions")}
    posted = connector.reply(ReplyTarget("reddit", parent, True), f"Sorry! {DEMO_BRAND} support here, DM us.", "k1")
    # Also as the brand, in other letter cases: a post, and a comment naming its own u/ (an inbox mention).
    self_mention = emulators.reddit.add_comment(f"{DEMO_BRAND} here: u/{DEMO_REDDIT_USERNAME} is our account",
                                                author="Orbisto_Support")
    own = {posted.external_id, self_mention,
           emulators.reddit.add_submission(f"{DEMO_BRAND} firmware 2.1 is out", author=DEMO_REDDIT_USERNAME.upper())}
    customer = emulators.reddit.add_comment(f"{DEMO_BRAND} fixed it for me, thanks")
    found, cursor, _ = drain(connector, REDDIT_QUERY, cursor)
    assert {m.external_id for m in found} == {customer}
    assert not own & {m.external_id for m in found}
    # The cursor moved past them all: nothing comes again.
    assert drain(connector, REDDIT_QUERY, cursor)[0] == []
    assert self_mention not in emulators.reddit.unread_mentions()  # dropped, and still marked read
    connector.close()


def test_the_logged_in_account_is_the_brand_even_for_a_query_without_a_handle(emulators: RunningEmulators) -> None:
    keywords_only = Query(key="orbisto", brand=DEMO_BRAND, keywords=(DEMO_BRAND,))
    connector = reddit_connector(emulators, page_size=10, comment_subreddits=["technology"], search_subreddits=[])
    _, cursor, _ = drain(connector, keywords_only, None)
    emulators.reddit.add_comment(f"{DEMO_BRAND} support: a fix is coming", author=DEMO_REDDIT_USERNAME)
    customer = emulators.reddit.add_comment(f"{DEMO_BRAND} support was quick")
    assert [m.external_id for m in drain(connector, keywords_only, cursor)[0]] == [customer]
    connector.close()


def test_without_the_account_the_querys_handle_still_names_the_brand(emulators: RunningEmulators) -> None:
    app_only = {k: DEMO_SECRETS["reddit"][k] for k in ("client_id", "client_secret")}
    connector = reddit_connector(emulators, app_only, page_size=10, comment_subreddits=["technology"],
                                 search_subreddits=[], inbox_mentions=False)
    _, cursor, _ = drain(connector, REDDIT_QUERY, None)
    emulators.reddit.add_comment(f"{DEMO_BRAND} support: a fix is coming", author=DEMO_REDDIT_USERNAME)
    customer = emulators.reddit.add_comment(f"{DEMO_BRAND} support was quick")
    assert [m.external_id for m in drain(connector, REDDIT_QUERY, cursor)[0]] == [customer]
    connector.close()
