"""The Reddit connector, through the unmodified praw client, against the Reddit emulator."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import pytest

from connectors.base import (
    BadPayload,
    ConnectorError,
    DeliveryUnknown,
    Query,
    RateLimited,
    ReplyNotAllowed,
    ReplyTarget,
)
from connectors.emulators import DEMO_REDDIT_REFRESH_TOKEN, DEMO_SECRETS, RunningEmulators
from connectors.emulators.server import Request, Response
from connectors.reddit import MAX_GAP_PAGES, build_search_query
from tests.emulator_fixtures import REDDIT_QUERY, drain, reddit_connector
from tests.fault_tools import rewrite_answers

SUBS = ["technology", "india", "mexico", "orbisto"]
SEARCH_ONLY = Query(key="orbisto", brand="Orbisto", keywords=("Orbisto",))


def test_search_text_or_joins_keywords_quotes_phrases_and_nots_exclusions() -> None:
    query = Query(key="k", brand="Acme", keywords=("Acme", "Acme Cloud"), exclude=("jobs",))
    assert build_search_query(query) == '(Acme OR "Acme Cloud") NOT jobs'
    assert build_search_query(Query(key="k", brand="Acme", raw="title:acme")) == "title:acme"


def test_one_query_reads_search_comments_and_inbox_and_marks_inbox_read_only_on_acknowledge(emulators: RunningEmulators) -> None:
    connector = reddit_connector(emulators, page_size=100, comment_subreddits=SUBS)
    unread_before = set(emulators.reddit.unread_mentions())
    results = []
    cursor = None
    while True:
        result = connector.fetch(REDDIT_QUERY, cursor)
        results.append(result)
        cursor = result.next_cursor
        if result.ack:
            assert set(emulators.reddit.unread_mentions()) == unread_before, "marked read before it was stored"
            connector.acknowledge(result.ack)
        if not result.has_more:
            break
    sources = {m.raw["source"] for r in results for m in r.mentions}
    assert sources == {"search", "comments", "mentions"}
    mentions = [m for r in results for m in r.mentions]
    assert all(m.external_id.startswith(("t1_", "t3_")) and "orbisto" in m.text.lower() for m in mentions)
    assert all(m.url and m.url.startswith("https://www.reddit.com/r/") for m in mentions)
    assert emulators.reddit.unread_mentions() == []
    assert set(json.loads(cursor or "{}")) >= {"search", "comments", "mentions"}


def test_new_comments_are_paged_with_before_without_gaps_or_repeats(emulators: RunningEmulators) -> None:
    connector = reddit_connector(emulators, page_size=5, comment_subreddits=["technology"], search_subreddits=[], inbox_mentions=False)
    emulators.reddit.add_comment("Orbisto is what we use at work", subreddit="technology")
    _, cursor, _ = drain(connector, SEARCH_ONLY, None)  # the first poll: the newest page only
    added = [emulators.reddit.add_comment(f"Orbisto question number {i}", subreddit="technology") for i in range(13)]
    emulators.reddit.add_comment("nothing about the brand here", subreddit="technology")
    mentions, cursor, pages = drain(connector, SEARCH_ONLY, cursor)
    assert len(pages) >= 3
    assert sorted(m.external_id for m in mentions) == sorted(added)
    assert drain(connector, SEARCH_ONLY, cursor)[0] == []


def test_cursor_survives_a_restart_and_nothing_is_fetched_twice(emulators: RunningEmulators) -> None:
    settings = {"page_size": 5, "comment_subreddits": SUBS}
    _, cursor, _ = drain(reddit_connector(emulators, **settings), REDDIT_QUERY, None)
    emulators.reddit.add_posts(20)
    first = reddit_connector(emulators, **settings)
    page = first.fetch(REDDIT_QUERY, cursor)
    first.close()  # the process dies after committing this page
    rest, cursor, _ = drain(reddit_connector(emulators, **settings), REDDIT_QUERY, page.next_cursor)
    # A comment naming u/orbisto_support comes from both the comment scan and the inbox (the store
    # dedupes); within one source nothing may come twice.
    read = [(m.raw["source"], m.external_id) for m in page.mentions + rest]
    assert read and len(read) == len(set(read))
    assert drain(reddit_connector(emulators, **settings), REDDIT_QUERY, cursor)[0] == []


def test_a_deleted_anchor_does_not_stall_the_cursor(emulators: RunningEmulators) -> None:
    connector = reddit_connector(emulators, comment_subreddits=["technology"], search_subreddits=[], inbox_mentions=False)
    anchor = emulators.reddit.add_comment("Orbisto anchor comment", subreddit="technology")
    _, cursor, _ = drain(connector, SEARCH_ONLY, None)
    assert json.loads(cursor or "{}")["comments"] == anchor
    emulators.reddit.delete(anchor)  # e.g. removed by a moderator
    newer = emulators.reddit.add_comment("Orbisto comment after the removal", subreddit="technology")
    assert [m.external_id for m in drain(connector, SEARCH_ONLY, cursor)[0]] == [newer]


def test_after_a_deleted_anchor_pages_of_newer_items_are_all_read(emulators: RunningEmulators) -> None:
    connector = reddit_connector(emulators, page_size=5, comment_subreddits=["technology"], search_subreddits=[],
                                 inbox_mentions=False)
    anchor = emulators.reddit.add_comment("Orbisto anchor comment", subreddit="technology")
    _, cursor, _ = drain(connector, SEARCH_ONLY, None)
    emulators.reddit.delete(anchor)
    added = [emulators.reddit.add_comment(f"Orbisto question {i}", subreddit="technology") for i in range(12)]
    mentions, cursor, _ = drain(connector, SEARCH_ONLY, cursor)
    assert sorted(m.external_id for m in mentions) == sorted(added)
    later = emulators.reddit.add_comment("Orbisto and one more", subreddit="technology")
    assert [m.external_id for m in drain(connector, SEARCH_ONLY, cursor)[0]] == [later]


def test_a_gap_too_long_to_walk_is_reported(emulators: RunningEmulators, caplog: pytest.LogCaptureFixture) -> None:
    connector = reddit_connector(emulators, page_size=2, comment_subreddits=["technology"], search_subreddits=[],
                                 inbox_mentions=False)
    anchor = emulators.reddit.add_comment("Orbisto anchor comment", subreddit="technology")
    _, cursor, _ = drain(connector, SEARCH_ONLY, None)
    emulators.reddit.delete(anchor)
    added = [emulators.reddit.add_comment(f"Orbisto question {i}", subreddit="technology")
             for i in range(2 * MAX_GAP_PAGES + 1)]
    mentions, _, _ = drain(connector, SEARCH_ONLY, cursor)
    assert sorted(m.external_id for m in mentions) == sorted(added[1:])
    assert "older ones were not read" in caplog.text


def test_reply_round_trip_on_a_comment_and_a_submission(emulators: RunningEmulators) -> None:
    connector = reddit_connector(emulators)
    comment = emulators.reddit.add_comment("u/orbisto_support my parcel is lost")
    submission = emulators.reddit.add_submission("Orbisto app review", "Works well")
    for target in (comment, submission):
        posted = connector.reply(ReplyTarget("reddit", target, replyable=True), "Thanks, we're looking into it", "k")
        assert emulators.reddit.replies_to(target) == [
            {"name": posted.external_id, "body": "Thanks, we're looking into it", "author": "orbisto_support"}
        ]


def test_a_reply_whose_answer_breaks_off_is_delivery_unknown_and_posted_once(emulators: RunningEmulators) -> None:
    def break_off(request: Request, response: Response) -> Response:
        if request.path.startswith("/api/comment"):
            # The comment is made, but the connection closes before its answer can be read to the end
            # (here: a body that is not the chunked encoding announced).
            response.headers.update({"Transfer-Encoding": "chunked", "Connection": "close"})
        return response

    rewrite_answers(emulators.reddit_server, break_off)
    comment = emulators.reddit.add_comment("u/orbisto_support my parcel is lost")
    with pytest.raises(DeliveryUnknown, match="check the thread"):
        reddit_connector(emulators).reply(ReplyTarget("reddit", comment, replyable=True), "Sorry! DM us", "k")
    assert len(emulators.reddit.replies_to(comment)) == 1


def test_locked_thread_reply_is_refused(emulators: RunningEmulators) -> None:
    submission = emulators.reddit.add_submission("Orbisto outage megathread")
    emulators.reddit.lock(submission)
    with pytest.raises(ReplyNotAllowed, match="THREAD_LOCKED"):
        reddit_connector(emulators).reply(ReplyTarget("reddit", submission, replyable=True), "We're on it", "k")


def test_inbox_without_account_credentials_is_a_clear_error(emulators: RunningEmulators) -> None:
    app_only = {k: v for k, v in DEMO_SECRETS["reddit"].items() if k in ("client_id", "client_secret")}
    connector = reddit_connector(emulators, secrets=app_only)
    with pytest.raises(ConnectorError, match="MENTIONDESK_REDDIT_USERNAME"):  # the mentions source's error alone
        connector.fetch(REDDIT_QUERY, json.dumps({"pending": ["mentions"]}))
    assert drain(connector, SEARCH_ONLY, None)[0]  # app-only search still works


def test_429_uses_reset_seconds_and_is_not_retried_against_the_window(emulators: RunningEmulators) -> None:
    connector = reddit_connector(emulators)
    connector.fetch(SEARCH_ONLY, None)  # logs in
    emulators.reddit.inject("rate_limit", retry_after=90)
    with pytest.raises(RateLimited) as caught:
        connector.fetch(SEARCH_ONLY, None)
    assert 85 <= caught.value.retry_after <= 90
    served = emulators.reddit.requests_served
    with pytest.raises(RateLimited):
        connector.fetch(SEARCH_ONLY, None)
    assert emulators.reddit.requests_served == served


def test_transient_5xx_is_retried(emulators: RunningEmulators) -> None:
    connector = reddit_connector(emulators)
    emulators.reddit.inject("server_error", times=2, status=502, path_contains="/search")
    assert connector.fetch(SEARCH_ONLY, None).mentions


def test_an_answer_that_is_not_json_raises_bad_payload(emulators: RunningEmulators) -> None:
    connector = reddit_connector(emulators)
    emulators.reddit.inject("malformed_json", path_contains="/search")
    with pytest.raises(BadPayload):
        connector.fetch(SEARCH_ONLY, None)
    assert connector.fetch(SEARCH_ONLY, None).mentions


def test_items_without_author_or_time_are_read_without_them(emulators: RunningEmulators) -> None:
    emulators.reddit.inject("missing_fields", path_contains="/search")
    mentions = reddit_connector(emulators).fetch(SEARCH_ONLY, None).mentions
    assert mentions and all(m.author_handle is None and "created_at_as_sent" in m.raw for m in mentions)


def test_wrong_password_is_reported_without_the_secret(emulators: RunningEmulators) -> None:
    secrets = {**DEMO_SECRETS["reddit"], "password": "wrong-password-456"}
    with pytest.raises(ConnectorError) as caught:
        reddit_connector(emulators, secrets=secrets).fetch(REDDIT_QUERY, None)
    assert "invalid_grant" in str(caught.value) and "wrong-password-456" not in str(caught.value)


def _first_child(payload: dict[str, Any]) -> dict[str, Any]:
    return payload["data"]["children"][0]


def _rewrite_search(emulators: RunningEmulators, change: Callable[[dict[str, Any]], Any]) -> None:
    def rewrite(request: Request, response: Response) -> Response:
        if "/search" in request.path and isinstance(response.payload, dict) and response.payload["data"]["children"]:
            change(response.payload)
        return response

    rewrite_answers(emulators.reddit_server, rewrite)


def test_listing_items_that_are_not_posts_are_bad_payload(emulators: RunningEmulators) -> None:
    _rewrite_search(emulators, lambda p: _first_child(p).update(kind="t5"))
    with pytest.raises(BadPayload):
        reddit_connector(emulators).fetch(SEARCH_ONLY, None)


@pytest.mark.parametrize("change", [
    lambda p: _first_child(p)["data"].update(id="abc-1"),
    lambda p: _first_child(p)["data"].update(id=""),
], ids=["id not base 36", "empty id"])
def test_an_item_without_a_base36_id_is_passed_on_without_one_for_ingest_to_set_aside(
        emulators: RunningEmulators, change: Callable[[dict[str, Any]], Any]) -> None:
    expected = [m.external_id for m in reddit_connector(emulators).fetch(SEARCH_ONLY, None).mentions]
    _rewrite_search(emulators, change)
    mentions = reddit_connector(emulators).fetch(SEARCH_ONLY, None).mentions
    assert [m.external_id for m in mentions] == ["", *expected[1:]]


def test_an_item_without_a_permalink_is_kept_without_its_link(emulators: RunningEmulators) -> None:
    expected = [m.external_id for m in reddit_connector(emulators).fetch(SEARCH_ONLY, None).mentions]
    _rewrite_search(emulators, lambda p: _first_child(p)["data"].update(permalink=None))
    mentions = reddit_connector(emulators).fetch(SEARCH_ONLY, None).mentions
    assert [m.external_id for m in mentions] == expected
    assert sum(m.url is None for m in mentions) == 1


@pytest.mark.parametrize("login", ["password", "refresh_token"])
def test_debug_logs_carry_no_secrets(emulators: RunningEmulators, caplog: pytest.LogCaptureFixture, login: str) -> None:
    caplog.set_level(logging.DEBUG)  # what `mentiondesk -vv` does
    app = {k: v for k, v in DEMO_SECRETS["reddit"].items() if k in ("client_id", "client_secret")}
    secrets = {**DEMO_SECRETS["reddit"]} if login == "password" else {**app, "refresh_token": DEMO_REDDIT_REFRESH_TOKEN}
    connector = reddit_connector(emulators, secrets=secrets)
    drain(connector, REDDIT_QUERY, None)
    comment = emulators.reddit.add_comment("u/orbisto_support help")
    connector.reply(ReplyTarget("reddit", comment, replyable=True), "On it", "k")
    assert caplog.records, "nothing was logged at all"
    assert "authorization" not in caplog.text.lower()
    for name, secret in secrets.items():
        assert name == "username" or secret not in caplog.text, f"the {name} was logged"
