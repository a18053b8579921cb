"""Mentions read before the brand's account was set up (Reddit read app-only; X before handles.x) are not
stored as replyable. Once the account is set up, a reply to them says what is the case: a Reddit thread that
is not locked is answered (it was refused as "locked or archived"), and X does not claim that a post which
@mentions the brand "matched a keyword"."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from connectors.base import ReplyNotAllowed, ReplyTarget
from connectors.emulators import DEMO_BRAND, DEMO_SECRETS, RunningEmulators
from monitor.config import Config
from monitor.errors import ReplyError
from monitor.models import Mention
from monitor.poller import poll_once
from monitor.replies import draft_reply, send_reply
from monitor.storage import Database
from tests.emulator_fixtures import reddit_connector, x_connector
from tests.principals import ANA

APP_ONLY = {k: v for k, v in DEMO_SECRETS["reddit"].items() if k in ("client_id", "client_secret")}


def _first_weeks_config(db: Database, running: RunningEmulators) -> Config:
    """Reddit read with the app's keys only, X without the brand's handle."""
    env = {f"MENTIONDESK_REDDIT_{k.upper()}": v for k, v in APP_ONLY.items()}
    env.update({f"MENTIONDESK_X_{k.upper()}": v for k, v in DEMO_SECRETS["x"].items()})
    return Config.from_dict({
        "database": {"url": db.engine.url.render_as_string(hide_password=False)},
        "brands": [{"name": DEMO_BRAND, "keywords": [DEMO_BRAND]}],
        "connectors": {"reddit": {"oauth_url": running.reddit_url, "reddit_url": running.reddit_url,
                                  "search_subreddits": [], "comment_subreddits": ["india"], "inbox_mentions": False},
                       "x": {"api_base_url": running.x_url, "mentions": False}}}, env=env)


def _stored(db: Database, *external_ids: str) -> list[Mention]:
    with db.read() as session:
        found = session.scalars(select(Mention).where(Mention.external_id.in_(external_ids)))
        by_id = {m.external_id: m for m in found}
    return [by_id[e] for e in external_ids]


def test_mentions_read_before_the_account_was_set_up_are_refused_for_what_is_the_case(
        emulators: RunningEmulators, db: Database) -> None:
    comment = emulators.reddit.add_comment("Orbisto charged my card twice, please help", subreddit="india")
    locked = emulators.reddit.add_comment("Orbisto lost my parcel", subreddit="india")
    emulators.reddit.lock(locked)
    tweet = emulators.x.add_post("@orbisto my router is dead, help", username="dead_router")
    assert all(r.ok for r in poll_once(db, _first_weeks_config(db, emulators)))
    stored = _stored(db, comment, locked, tweet)
    assert [m.replyable for m in stored] == [False, False, False]
    reddit, x = reddit_connector(emulators), x_connector(emulators)  # the account is set up now

    open_thread, locked_thread, keyword_or_early = (draft_reply(db, m.id, "Sorry about that, please DM us.", ANA)
                                                    for m in stored)
    assert send_reply(db, open_thread.id, reddit, ANA).state == "sent"
    assert len(emulators.reddit.replies_to(comment)) == 1
    refused = send_reply(db, locked_thread.id, reddit, ANA)
    assert refused.state == "failed" and refused.error == "this Reddit thread is locked or archived"
    with pytest.raises(ReplyError, match="or was read before the brand's x handle was configured"):
        send_reply(db, keyword_or_early.id, x, ANA)
    assert emulators.reddit.replies_to(locked) == [] and emulators.x.replies_to(tweet) == []
    reddit.close()
    x.close()


def test_a_reddit_mention_stored_without_why_it_is_not_replyable_says_both_reasons(
        emulators: RunningEmulators) -> None:
    # Stored before the reason was recorded: a locked thread, or one read without the account.
    comment = emulators.reddit.add_comment("Orbisto charged my card twice", subreddit="india")
    connector = reddit_connector(emulators)
    target = ReplyTarget("reddit", comment, replyable=False, raw={"source": "comments", "subreddit": "india"})
    with pytest.raises(ReplyNotAllowed, match="locked or archived when it was read, or it was read before the Reddit"):
        connector.reply(target, "Sorry about that, please DM us.", "key-1")
    connector.close()
    assert emulators.reddit.replies_to(comment) == []
