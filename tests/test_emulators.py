"""The emulators speak the real wire formats, hold state and misbehave on demand."""

from __future__ import annotations

import time

import pytest
import requests

from connectors.emulators import DEMO_SECRETS, RunningEmulators, start_emulators
from connectors.emulators.x_api import REPLY_NOT_ALLOWED
from tests.emulator_fixtures import BACKLOG_END

X_AUTH = {"Authorization": f"Bearer {DEMO_SECRETS['x']['bearer_token']}"}


def _search(running: RunningEmulators, **params: str) -> requests.Response:
    return requests.get(f"{running.x_url}/2/tweets/search/recent", params={"query": "Orbisto", **params}, headers=X_AUTH, timeout=5)


def _reddit_token(running: RunningEmulators) -> dict[str, str]:
    secrets = DEMO_SECRETS["reddit"]
    answer = requests.post(
        f"{running.reddit_url}/api/v1/access_token",
        data={"grant_type": "password", "username": secrets["username"], "password": secrets["password"]},
        auth=(secrets["client_id"], secrets["client_secret"]), timeout=5,
    ).json()
    assert answer["token_type"] == "bearer" and answer["expires_in"] > 0
    return {"Authorization": f"bearer {answer['access_token']}"}


def test_same_seed_same_stream_other_seed_other_stream() -> None:
    def texts(seed: int) -> list[str]:
        with start_emulators(seed=seed, backlog=40, backlog_end=BACKLOG_END) as running:
            return [t["text"] for t in _search(running, max_results="100").json()["data"]]

    assert texts(3) == texts(3)
    assert texts(3) != texts(4)


def test_stream_is_multilingual_and_mixes_kinds(emulators: RunningEmulators) -> None:
    tweets = _search(emulators, max_results="100", **{"tweet.fields": "lang"}).json()["data"]
    assert {t["lang"] for t in tweets} >= {"en", "es", "fr", "pt", "ar", "hi", "ta", "km"}
    kinds = {emulators.x.stream.post(n).kind for n in range(60)}
    assert kinds == {"complaint", "question", "praise", "noise", "unrelated"}


def test_x_search_pages_with_meta_and_returns_only_requested_fields(emulators: RunningEmulators) -> None:
    first = _search(emulators, max_results="10", expansions="author_id", **{"tweet.fields": "created_at", "user.fields": "public_metrics"})
    body = first.json()
    assert set(body) == {"data", "includes", "meta"}
    assert set(body["data"][0]) == {"id", "text", "edit_history_tweet_ids", "created_at", "author_id"}
    assert {u["id"] for u in body["includes"]["users"]} == {t["author_id"] for t in body["data"]}
    assert "followers_count" in body["includes"]["users"][0]["public_metrics"]
    meta = body["meta"]
    assert meta["result_count"] == 10 and meta["newest_id"] == body["data"][0]["id"] and meta["oldest_id"] == body["data"][-1]["id"]
    second = _search(emulators, max_results="10", next_token=meta["next_token"]).json()
    assert int(second["data"][0]["id"]) < int(meta["oldest_id"])
    nothing_new = _search(emulators, since_id=meta["newest_id"]).json()
    assert nothing_new == {"meta": {"result_count": 0}}
    assert int(first.headers["x-rate-limit-reset"]) > time.time() and int(first.headers["x-rate-limit-remaining"]) >= 0


def test_x_rejects_bad_parameters_and_missing_credentials(emulators: RunningEmulators) -> None:
    wrong_field = _search(emulators, **{"tweet.fields": "public_metircs"})
    assert wrong_field.status_code == 400
    assert wrong_field.json()["errors"][0]["parameters"] == {"tweet.fields": ["public_metircs"]}
    assert _search(emulators, max_results="5").status_code == 400  # recent search needs 10-100
    unauthenticated = requests.get(f"{emulators.x_url}/2/tweets/search/recent", params={"query": "a"}, timeout=5)
    assert unauthenticated.status_code == 401


def test_x_reply_rule_and_app_only_posting_are_enforced(emulators: RunningEmulators) -> None:
    user_auth = {"Authorization": f'OAuth oauth_consumer_key="{DEMO_SECRETS["x"]["api_key"]}", '
                                  f'oauth_token="{DEMO_SECRETS["x"]["access_token"]}", oauth_signature="x"'}

    def reply(to: str, headers: dict[str, str]) -> requests.Response:
        return requests.post(f"{emulators.x_url}/2/tweets", json={"text": "Thanks!", "reply": {"in_reply_to_tweet_id": to}},
                             headers=headers, timeout=5)

    plain = emulators.x.add_post("Orbisto is ok")
    mentioned = emulators.x.add_post("@orbisto is ok")
    app_only = reply(mentioned, X_AUTH)
    assert app_only.status_code == 403 and "Application-Only is forbidden" in app_only.json()["detail"]
    refused = reply(plain, user_auth)
    assert refused.status_code == 403 and refused.json()["detail"] == REPLY_NOT_ALLOWED
    created = reply(mentioned, user_auth)
    assert created.status_code == 201
    assert emulators.x.replies_to(mentioned) == [{"id": created.json()["data"]["id"], "text": "Thanks!", "author": "orbisto"}]
    assert reply(mentioned, user_auth).json()["detail"] == "You are not allowed to create a Tweet with duplicate content."


def test_x_faults_on_demand(emulators: RunningEmulators) -> None:
    emulators.x.inject("rate_limit", retry_after=30)
    limited = _search(emulators)
    assert limited.status_code == 429 and limited.headers["x-rate-limit-remaining"] == "0"
    assert 25 <= int(limited.headers["x-rate-limit-reset"]) - time.time() <= 31
    emulators.x.inject("server_error", status=503)
    assert _search(emulators).status_code == 503
    emulators.x.inject("malformed_json")
    with pytest.raises(ValueError):
        _search(emulators).json()
    emulators.x.inject("missing_fields")
    assert "created_at" not in _search(emulators, **{"tweet.fields": "created_at"}).json()["data"][0]
    assert _search(emulators).status_code == 200  # faults are used up


def test_x_window_runs_out_like_the_real_one() -> None:
    with start_emulators(backlog=5, backlog_end=BACKLOG_END, x_rate_limit=2) as running:
        assert [_search(running).status_code for _ in range(3)] == [200, 200, 429]


def test_reddit_listing_things_and_before_after_cursors(emulators: RunningEmulators) -> None:
    headers = _reddit_token(emulators)
    names = [emulators.reddit.add_comment(f"comment {i}", subreddit="france") for i in range(6)]
    url = f"{emulators.reddit_url}/r/france/comments/"
    newest = requests.get(url, params={"limit": 3}, headers=headers, timeout=5)
    listing = newest.json()
    assert listing["kind"] == "Listing" and listing["data"]["before"] is None
    assert [c["data"]["name"] for c in listing["data"]["children"]] == names[:2:-1]
    assert {c["kind"] for c in listing["data"]["children"]} == {"t1"}
    assert listing["data"]["after"] == names[3]
    newer = requests.get(url, params={"limit": 2, "before": names[1]}, headers=headers, timeout=5).json()["data"]
    assert [c["data"]["name"] for c in newer["children"]] == [names[3], names[2]]  # just newer than the anchor
    assert newer["before"] == names[3]  # and more exist beyond them
    reset = int(newest.headers["x-ratelimit-reset"])
    assert 0 <= reset <= 600, "reset is seconds from now, not an epoch"
    assert float(newest.headers["x-ratelimit-remaining"]) >= 0 and int(newest.headers["x-ratelimit-used"]) >= 1


def test_reddit_reply_shows_in_the_thread_and_inbox_tracks_read(emulators: RunningEmulators) -> None:
    headers = _reddit_token(emulators)
    mention = emulators.reddit.add_comment("hey u/orbisto_support, any update?", subreddit="india")
    assert mention in emulators.reddit.unread_mentions()
    answer = requests.post(f"{emulators.reddit_url}/api/comment", data={"api_type": "json", "thing_id": mention, "text": "On it!"},
                           headers=headers, timeout=5).json()
    reply = answer["json"]["data"]["things"][0]
    assert reply["kind"] == "t1" and reply["data"]["parent_id"] == mention
    link_id = reply["data"]["link_id"][3:]
    thread = requests.get(f"{emulators.reddit_url}/comments/{link_id}/", headers=headers, timeout=5).json()
    top_level = thread[1]["data"]["children"]
    replies = next(c for c in top_level if c["data"]["name"] == mention)["data"]["replies"]["data"]["children"]
    assert [r["data"]["body"] for r in replies] == ["On it!"]
    requests.post(f"{emulators.reddit_url}/api/read_message", data={"id": mention}, headers=headers, timeout=5)
    assert mention not in emulators.reddit.unread_mentions()


def test_reddit_refuses_unknown_clients_and_tokens(emulators: RunningEmulators) -> None:
    refused = requests.post(f"{emulators.reddit_url}/api/v1/access_token", data={"grant_type": "client_credentials"},
                            auth=("someone", "else"), timeout=5)
    assert refused.status_code == 401
    assert requests.get(f"{emulators.reddit_url}/message/mentions", headers={"Authorization": "bearer nope"}, timeout=5).status_code == 401


def test_a_request_asking_to_close_gets_an_answer_saying_so(emulators: RunningEmulators) -> None:
    """prawcore asks for "Connection: close" on token requests; an answer that does not say it
    lets the client pool a connection the emulator then closes, and the next request on it (a reply
    POST) goes unanswered."""
    with requests.Session() as session:
        closing = session.get(f"{emulators.x_url}/2/tweets/search/recent", params={"query": "Orbisto"},
                              headers={**X_AUTH, "Connection": "close"}, timeout=5)
        assert closing.status_code == 200 and closing.headers["Connection"] == "close"
        kept = session.get(f"{emulators.x_url}/2/tweets/search/recent", params={"query": "Orbisto"},
                           headers=X_AUTH, timeout=5)
        assert kept.status_code == 200 and "Connection" not in kept.headers
