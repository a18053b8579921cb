"""X gives a post over 280 characters with its ``text`` cut short; the whole post, and the entities of the
whole post, come only in ``note_tweet`` when tweet.fields asks for it. The connector never asked: long posts
were stored cut off, and an @mention of the brand past the cut was not seen, so X's reply rule, which counts
it, was read as refusing the reply."""

from __future__ import annotations

import requests

from connectors.base import ReplyTarget
from connectors.emulators import DEMO_SECRETS, DEMO_X_HANDLE, RunningEmulators
from tests.emulator_fixtures import X_QUERY, drain, x_connector

X_AUTH = {"Authorization": f"Bearer {DEMO_SECRETS['x']['bearer_token']}"}
LONG_POST = ("My Orbisto order #4411 never arrived. " + "I have waited three weeks and written four emails. " * 5
             + f"Refund me now or I go to my bank. @{DEMO_X_HANDLE}")


def _tweet(running: RunningEmulators, post_id: str, fields: str) -> dict:
    answer = requests.get(f"{running.x_url}/2/tweets/{post_id}", params={"tweet.fields": fields}, headers=X_AUTH,
                          timeout=5)
    return answer.json()["data"]


def test_x_cuts_a_long_posts_text_and_gives_it_whole_in_note_tweet(emulators: RunningEmulators) -> None:
    post = emulators.x.add_post(LONG_POST, username="angry_customer")
    cut = _tweet(emulators, post, "entities")
    assert len(LONG_POST) > 280 and len(cut["text"]) <= 280 and cut["text"].endswith("…")
    assert LONG_POST.startswith(cut["text"][:-1]) and "note_tweet" not in cut
    assert DEMO_X_HANDLE not in {m["username"] for m in cut.get("entities", {}).get("mentions", [])}
    whole = _tweet(emulators, post, "entities,note_tweet")["note_tweet"]
    assert whole["text"] == LONG_POST
    assert DEMO_X_HANDLE in {m["username"] for m in whole["entities"]["mentions"]}
    short = emulators.x.add_post(f"@{DEMO_X_HANDLE} short one", username="angry_customer")
    assert "note_tweet" not in _tweet(emulators, short, "note_tweet")  # as on X: only long posts have one


def test_a_long_post_is_stored_whole_and_its_mention_of_the_brand_makes_it_replyable(
        emulators: RunningEmulators) -> None:
    connector = x_connector(emulators, page_size=100, mentions=False)  # keyword search alone
    _, cursor, _ = drain(connector, X_QUERY, None)
    post = emulators.x.add_post(LONG_POST, username="angry_customer")
    mentions, _, _ = drain(connector, X_QUERY, cursor)
    [mention] = [m for m in mentions if m.external_id == post]
    assert mention.text == LONG_POST
    assert mention.replyable  # the author @mentioned the brand, past the cut
    connector.reply(ReplyTarget("x", post, replyable=True), "So sorry, please DM us the order number", "key-1")
    assert [r["author"] for r in emulators.x.replies_to(post)] == [DEMO_X_HANDLE]  # X allows it
