"""The X connector, through the unmodified tweepy Client, against the X API v2 emulator."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import pytest

from connectors.base import BadPayload, ConnectorError, Query, RateLimited, ReplyNotAllowed, ReplyTarget
from connectors.emulators import DEMO_SECRETS, RunningEmulators
from connectors.emulators.server import Request, Response
from connectors.x import XConnector, XSettings, build_search_query
from tests.emulator_fixtures import X_QUERY, drain, x_connector
from tests.fault_tools import rewrite_answers

SEARCH_ONLY = Query(key="orbisto", brand="Orbisto", keywords=("Orbisto",))


def test_search_text_quotes_phrases_joins_keywords_and_excludes() -> None:
    query = Query(key="k", brand="Acme", keywords=("Acme", "Acme Cloud"), exclude=("jobs", "acme corp"), handle="acme")
    text = build_search_query(query, XSettings(lang="es"))
    assert text == '(Acme OR "Acme Cloud") -jobs -"acme corp" -from:acme -is:retweet lang:es'
    assert build_search_query(Query(key="k", brand="Acme", raw="acme has:links"), XSettings()) == "acme has:links"


def test_keywords_that_look_like_operators_are_searched_as_words(emulators: RunningEmulators) -> None:
    query = Query(key="rz", brand="Re:Zero", keywords=("Re:Zero", "-ish", "#rezero"), exclude=("spoiler:",))
    text = build_search_query(query, XSettings(exclude_retweets=False))
    assert text == '("Re:Zero" OR "-ish" OR #rezero) -"spoiler:"'
    post = emulators.x.add_post("Loving the new Re:Zero figure")
    mentions = x_connector(emulators).fetch(Query(key="rz", brand="Re:Zero", keywords=("Re:Zero",)), None).mentions
    assert [m.external_id for m in mentions] == [post]


def test_first_poll_pages_through_search_and_mentions_then_stops(emulators: RunningEmulators) -> None:
    connector = x_connector(emulators, page_size=10, first_run_pages=50)
    mentions, cursor, pages = drain(connector, X_QUERY, None)
    assert len(pages) > 4  # several pages of each source
    ids = [m.external_id for m in mentions if m.raw["source"] == "search"]
    assert len(ids) == len(set(ids)), "a page repeated posts"
    assert all("orbisto" in m.text.lower() for m in mentions)
    assert not any(m.text.startswith("RT @") for m in mentions), "retweets are excluded"
    assert {m.lang for m in mentions} >= {"en", "es", "ar", "hi"}
    assert all(m.author_handle and m.created_at.tzinfo and m.url for m in mentions)
    # The next round asks only for what is newer: nothing yet.
    assert drain(connector, X_QUERY, cursor)[0] == []
    assert sum(p.units_used for p in pages) >= len(mentions)


def test_first_poll_reads_only_first_run_pages(emulators: RunningEmulators) -> None:
    connector = x_connector(emulators, page_size=10, first_run_pages=1)
    mentions, cursor, pages = drain(connector, SEARCH_ONLY, None)
    assert len(pages) == 1 and len(mentions) <= 10
    new_ids = emulators.x.add_posts(12)
    later, _, _ = drain(connector, SEARCH_ONLY, cursor)
    assert {m.external_id for m in later} <= set(new_ids) and later


def test_cursor_resumes_after_restart_without_gaps_or_repeats(emulators: RunningEmulators) -> None:
    reference, _, _ = drain(x_connector(emulators, page_size=10, first_run_pages=50), SEARCH_ONLY, None)

    first = x_connector(emulators, page_size=10, first_run_pages=50)
    page1 = first.fetch(SEARCH_ONLY, None)
    page2 = first.fetch(SEARCH_ONLY, page1.next_cursor)
    first.close()  # "crash": only page2's cursor survives, as committed with page2
    restarted = x_connector(emulators, page_size=10, first_run_pages=50)
    rest, cursor, _ = drain(restarted, SEARCH_ONLY, page2.next_cursor)
    resumed = page1.mentions + page2.mentions + rest
    assert [m.external_id for m in resumed] == [m.external_id for m in reference]

    new_ids = set(emulators.x.add_posts(15))
    after_restart, _, _ = drain(x_connector(emulators), SEARCH_ONLY, cursor)
    assert after_restart and {m.external_id for m in after_restart} <= new_ids


def test_direct_mentions_and_quotes_are_replyable_plain_keyword_posts_are_not(emulators: RunningEmulators) -> None:
    x = emulators.x
    mentioned = x.add_post("@orbisto my invoice is wrong")
    quoted = x.add_post("Orbisto finally shipped it", quote_brand=True)
    plain = x.add_post("thinking about trying Orbisto")
    mentions, _, _ = drain(x_connector(emulators, page_size=10), X_QUERY, None)
    flags = {m.external_id: m.replyable for m in mentions}
    assert flags[mentioned] is True and flags[quoted] is True and flags[plain] is False


def test_reply_round_trip_shows_in_the_thread(emulators: RunningEmulators) -> None:
    tweet_id = emulators.x.add_post("@orbisto where is my refund?", username="angry_ana")
    connector = x_connector(emulators)
    mention = next(m for m in drain(connector, X_QUERY, None)[0] if m.external_id == tweet_id)
    posted = connector.reply(ReplyTarget("x", tweet_id, mention.replyable, mention.thread_id), "Sorry Ana, DM us your order number", "key-1")
    assert emulators.x.replies_to(tweet_id) == [{"id": posted.external_id, "text": "Sorry Ana, DM us your order number", "author": "orbisto"}]


def test_reply_to_a_post_that_did_not_address_the_brand_is_refused_before_sending(emulators: RunningEmulators) -> None:
    tweet_id = emulators.x.add_post("Orbisto is fine I guess")
    connector = x_connector(emulators)
    served = emulators.x.requests_served
    with pytest.raises(ReplyNotAllowed, match="@mention or quote"):
        connector.reply(ReplyTarget("x", tweet_id, replyable=False), "Thanks!", "key-2")
    assert emulators.x.requests_served == served
    assert emulators.x.replies_to(tweet_id) == []


def test_x_rejecting_a_reply_becomes_reply_not_allowed(emulators: RunningEmulators) -> None:
    tweet_id = emulators.x.add_post("Orbisto is fine I guess")
    with pytest.raises(ReplyNotAllowed, match="not been mentioned"):
        x_connector(emulators).reply(ReplyTarget("x", tweet_id, replyable=True), "Thanks!", "key-3")  # stale flag
    assert emulators.x.replies_to(tweet_id) == []


def test_reply_without_user_keys_says_which_secrets_are_missing(emulators: RunningEmulators) -> None:
    connector = XConnector(XSettings(api_base_url=emulators.x_url), {"bearer_token": DEMO_SECRETS["x"]["bearer_token"]})
    with pytest.raises(ConnectorError, match="MENTIONDESK_X_ACCESS_TOKEN"):
        connector.reply(ReplyTarget("x", "1", replyable=True), "hi", "key-4")


def test_429_raises_rate_limited_until_reset_without_calling_again(emulators: RunningEmulators) -> None:
    connector = x_connector(emulators)
    emulators.x.inject("rate_limit", retry_after=120)
    with pytest.raises(RateLimited) as caught:
        connector.fetch(SEARCH_ONLY, None)
    assert 100 <= caught.value.retry_after <= 121
    served = emulators.x.requests_served
    with pytest.raises(RateLimited):
        connector.fetch(SEARCH_ONLY, None)
    assert emulators.x.requests_served == served, "a known-exhausted window must not be hit again"


def test_transient_5xx_is_retried_and_persistent_5xx_fails_clearly(emulators: RunningEmulators) -> None:
    connector = x_connector(emulators)
    emulators.x.inject("server_error", times=2, status=503)
    assert connector.fetch(SEARCH_ONLY, None).mentions
    emulators.x.inject("server_error", times=10, status=500)
    with pytest.raises(ConnectorError, match="server error 500"):
        connector.fetch(SEARCH_ONLY, None)


@pytest.mark.parametrize("fault", ["malformed_json", "missing_fields"])
def test_broken_answers_raise_bad_payload(emulators: RunningEmulators, fault: str) -> None:
    connector = x_connector(emulators)
    emulators.x.inject(fault, path_contains="/search/")  # type: ignore[arg-type]
    with pytest.raises(BadPayload):
        connector.fetch(SEARCH_ONLY, None)
    assert connector.fetch(SEARCH_ONLY, None).mentions  # the next try works


def test_bad_credentials_fail_without_echoing_the_secret(emulators: RunningEmulators) -> None:
    secret = "not-the-right-bearer-token-123"
    connector = XConnector(XSettings(api_base_url=emulators.x_url), {"bearer_token": secret})
    with pytest.raises(ConnectorError) as caught:
        connector.fetch(SEARCH_ONLY, None)
    assert "401" in str(caught.value) and secret not in str(caught.value)


def test_expired_pagination_token_restarts_the_walk(emulators: RunningEmulators) -> None:
    connector = x_connector(emulators, page_size=10, first_run_pages=50)
    page = connector.fetch(SEARCH_ONLY, None)
    state = json.loads(page.next_cursor or "{}")
    state["search"]["next_token"] = "expired-token"
    result = connector.fetch(SEARCH_ONLY, json.dumps(state))
    assert result.mentions and result.mentions[0].external_id == page.mentions[0].external_id


def _first_post(payload: dict[str, Any]) -> dict[str, Any]:
    return payload["data"][0]


# Valid JSON of the wrong shape in a part a post can do without: the post is kept, the part dropped.
ODD_PARTS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "entities null": lambda p: _first_post(p).update(entities=None),
    "entities a list": lambda p: _first_post(p).update(entities=[]),
    "a mention's username null": lambda p: _first_post(p).update(entities={"mentions": [{"username": None}]}),
    "referenced_tweets null": lambda p: _first_post(p).update(referenced_tweets=None),
    "a referenced id that is a list": lambda p: _first_post(p).update(referenced_tweets=[{"type": "quoted",
                                                                                          "id": ["1"]}]),
    "public_metrics a list": lambda p: [u.update(public_metrics=[1]) for u in p["includes"]["users"]],
    "meta.newest_id not a number": lambda p: p["meta"].update(newest_id="abc"),
}


def _rewrite_search(emulators: RunningEmulators, change: Callable[[dict[str, Any]], Any]) -> None:
    def rewrite(request: Request, response: Response) -> Response:
        if "/search/" in request.path and isinstance(response.payload, dict) and response.payload.get("data"):
            change(response.payload)
        return response

    rewrite_answers(emulators.x_server, rewrite)


@pytest.mark.parametrize("odd", list(ODD_PARTS))
def test_an_odd_optional_part_is_dropped_not_the_post(emulators: RunningEmulators, odd: str) -> None:
    expected = [m.external_id for m in x_connector(emulators).fetch(SEARCH_ONLY, None).mentions]
    _rewrite_search(emulators, ODD_PARTS[odd])
    result = x_connector(emulators).fetch(SEARCH_ONLY, None)
    assert [m.external_id for m in result.mentions] == expected
    if odd == "meta.newest_id not a number":  # since_id stays put: the next round reads these again
        assert json.loads(result.next_cursor or "{}")["search"]["since_id"] is None


def test_authors_of_the_wrong_shape_are_bad_payload(emulators: RunningEmulators) -> None:
    _rewrite_search(emulators, lambda p: p["includes"].update(users=None))
    with pytest.raises(BadPayload, match="author is missing"):
        x_connector(emulators).fetch(SEARCH_ONLY, None)


def test_a_changed_brand_handle_reads_the_new_accounts_mentions(emulators: RunningEmulators) -> None:
    emulators.x.add_post("hello there", username="acme_old")  # the account first configured
    connector = x_connector(emulators, search=False)
    _, cursor, _ = drain(connector, Query(key="acme", brand="Acme", handle="acme_old"), None)
    to_brand = emulators.x.add_post("@orbisto my order never arrived!", username="angry_ana")
    to_old = emulators.x.add_post("@acme_old lunch tomorrow?", username="friend")
    # The handle is corrected to the brand's real account; the brand (and so the cursor) stays.
    mentions, cursor, _ = drain(connector, Query(key="acme", brand="Acme", handle="orbisto"), cursor)
    ids = {m.external_id for m in mentions}
    assert to_brand in ids and to_old not in ids
    # A cursor stored before it kept the handle: the account is looked up again, the same one, so its
    # timeline goes on where it was (a restart would read the newest page again).
    state = json.loads(cursor or "{}")
    assert state.pop("brand_handle") == "orbisto"
    assert drain(connector, Query(key="acme", brand="Acme", handle="Orbisto"), json.dumps(state))[0] == []


def test_debug_logs_carry_no_secrets(emulators: RunningEmulators, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)  # what `mentiondesk -vv` does
    connector = x_connector(emulators)
    drain(connector, X_QUERY, None)
    post = emulators.x.add_post("@orbisto help")
    connector.reply(ReplyTarget("x", post, replyable=True), "On it", "key-5")
    assert caplog.records, "nothing was logged at all"
    for name, secret in DEMO_SECRETS["x"].items():
        assert secret not in caplog.text, f"the {name} was logged"
