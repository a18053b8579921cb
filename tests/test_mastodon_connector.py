"""The Mastodon connector, through the unmodified Mastodon.py client, against the Mastodon emulator."""

from __future__ import annotations

import pytest

from connectors.base import BadPayload, ConnectorError, Query, RateLimited, ReplyNotAllowed, ReplyTarget
from connectors.emulators import DEMO_MASTODON_USERNAME, DEMO_SECRETS, RunningEmulators
from connectors.mastodon import MastodonConnector, MastodonSettings
from monitor.storage import Database
from tests.emulator_fixtures import drain, stored_ids
from tests.more_sources_fixtures import FAST_RETRIES, one_connector_config, poll

QUERY = Query(key="orbisto", brand="Orbisto", keywords=("Orbisto",), handle=DEMO_MASTODON_USERNAME)
SEARCH_ONLY = Query(key="orbisto", brand="Orbisto", keywords=("Orbisto",))


def masto(running: RunningEmulators, secrets: dict[str, str] | None = None, **settings: object) -> MastodonConnector:
    options = {"api_base_url": running.mastodon_url, "page_size": 5, **FAST_RETRIES, **settings}
    return MastodonConnector(MastodonSettings(**options), secrets or dict(DEMO_SECRETS["mastodon"]))


def test_reads_search_hashtag_and_mention_notifications(emulators: RunningEmulators) -> None:
    mentions, _, pages = drain(masto(emulators), QUERY, None)
    assert len(pages) == 3  # first poll: the newest page of each source
    assert {m.raw["source"] for m in mentions} == {"search", "tag", "notifications"}
    assert all("orbisto" in m.text.lower() and "<p>" not in m.text for m in mentions)
    assert all(m.author_handle and m.created_at.tzinfo and m.url and m.replyable for m in mentions)
    notified = [m for m in mentions if m.raw["source"] == "notifications"]
    assert all("@orbisto" in m.text for m in notified)
    assert any("@" in (m.author_handle or "") for m in mentions), "remote accounts keep their domain"


def test_search_walks_down_with_max_id_and_resumes_after_restart(emulators: RunningEmulators) -> None:
    # Search answers newest first above min_id, so the walk pages down by max_id (the emulator does as Mastodon does).
    _, cursor, _ = drain(masto(emulators, hashtags=[]), SEARCH_ONLY, None)
    new_ids = set(emulators.mastodon.add_posts(40))
    first = masto(emulators, hashtags=[])
    page1 = first.fetch(SEARCH_ONLY, cursor)
    assert page1.has_more and len(page1.mentions) == 5
    first.close()  # "crash" after page1 was stored with its cursor
    rest, cursor, pages = drain(masto(emulators, hashtags=[]), SEARCH_ONLY, page1.next_cursor)
    got = [m.external_id for m in page1.mentions + rest]
    assert len(pages) > 2 and len(got) == len(set(got)) and set(got) <= new_ids
    assert set(got) == _matching(emulators, new_ids)
    assert drain(masto(emulators, hashtags=[]), SEARCH_ONLY, cursor)[0] == []


def test_posts_that_arrive_mid_walk_are_not_skipped(emulators: RunningEmulators) -> None:
    _, cursor, _ = drain(masto(emulators, hashtags=[]), SEARCH_ONLY, None)
    before = set(emulators.mastodon.add_posts(30))
    page1 = masto(emulators, hashtags=[]).fetch(SEARCH_ONLY, cursor)
    during = set(emulators.mastodon.add_posts(30))  # newer posts push the rest to higher offsets
    rest, cursor, _ = drain(masto(emulators, hashtags=[]), SEARCH_ONLY, page1.next_cursor)
    later, _, _ = drain(masto(emulators, hashtags=[]), SEARCH_ONLY, cursor)
    got = {m.external_id for m in page1.mentions + rest + later}
    assert got == _matching(emulators, before | during)


def test_a_post_deleted_mid_walk_does_not_make_the_walk_skip_one(emulators: RunningEmulators) -> None:
    _, cursor, _ = drain(masto(emulators, hashtags=[]), SEARCH_ONLY, None)
    new = [emulators.mastodon.add_status(f"Orbisto problem number {n}", username=f"u{n}") for n in range(12)]
    page1 = masto(emulators, hashtags=[]).fetch(SEARCH_ONLY, cursor)
    assert page1.has_more and [m.external_id for m in page1.mentions] == new[:6:-1]
    emulators.mastodon.delete_status(new[10])  # read on page 1, then deleted (or hidden by a moderator)
    rest, cursor, _ = drain(masto(emulators, hashtags=[]), SEARCH_ONLY, page1.next_cursor)
    later, _, _ = drain(masto(emulators, hashtags=[]), SEARCH_ONLY, cursor)
    got = [m.external_id for m in page1.mentions + rest + later]
    assert len(got) == len(set(got)) and set(got) == set(new)


def test_ids_that_are_not_numbers_page_and_reply_like_numeric_ones(emulators: RunningEmulators,
                                                                   sqlite_db: Database) -> None:
    emulators.mastodon.ulid_ids = True  # as GoToSocial answers (Akkoma's flake ids are not numbers either)
    config = one_connector_config(sqlite_db, "mastodon", {"api_base_url": emulators.mastodon_url, "page_size": 5},
                                  env={"MENTIONDESK_MASTODON_ACCESS_TOKEN": DEMO_SECRETS["mastodon"]["access_token"]},
                                  handle=DEMO_MASTODON_USERNAME)
    assert poll(sqlite_db, config).ok
    stored = stored_ids(sqlite_db, "mastodon")
    assert stored and not any(i.isdigit() for i in stored)
    new = {emulators.mastodon.add_status(f"@orbisto Orbisto order {n} is late", username="ben") for n in range(12)}
    assert poll(sqlite_db, config).ok and stored_ids(sqlite_db, "mastodon") - stored == new
    assert poll(sqlite_db, config).stored == 0
    target = max(new)
    masto(emulators).reply(ReplyTarget("mastodon", target, True, raw={"acct": "ben", "visibility": "public"}),
                           "Checking now.", "key-1")
    assert [r["text"] for r in emulators.mastodon.replies_to(target)] == ["@ben Checking now."]


def _matching(emulators: RunningEmulators, ids: set[str]) -> set[str]:
    statuses = emulators.mastodon._statuses
    return {i for i in ids if "orbisto" in statuses[int(i)].text.lower() and statuses[int(i)].visibility == "public"}


def test_reply_round_trip_mentions_the_author_and_keeps_direct_messages_direct(emulators: RunningEmulators) -> None:
    status_id = emulators.mastodon.add_status("@orbisto my parcel is lost", username="ana", visibility="direct")
    connector = masto(emulators)
    mention = next(m for m in drain(connector, QUERY, None)[0] if m.external_id == status_id)
    target = ReplyTarget("mastodon", status_id, mention.replyable, raw=mention.raw)
    posted = connector.reply(target, "Sorry! Please send your order number.", "key-1")
    again = connector.reply(target, "Sorry! Please send your order number.", "key-1")  # Idempotency-Key
    assert again.external_id == posted.external_id
    assert emulators.mastodon.replies_to(status_id) == [
        {"id": posted.external_id, "text": "@ana Sorry! Please send your order number.", "author": "orbisto", "visibility": "direct"}]


def test_reply_to_a_deleted_post_or_too_long_is_refused(emulators: RunningEmulators) -> None:
    raw = {"acct": "x", "visibility": "public"}
    with pytest.raises(ReplyNotAllowed, match="no longer exists"):
        masto(emulators).reply(ReplyTarget("mastodon", "999", True, raw=raw), "hi", "k2")
    with pytest.raises(ConnectorError, match="allows 500"):
        masto(emulators).reply(ReplyTarget("mastodon", "1", True, raw=raw), "a" * 500, "k3")


def test_a_reply_is_refused_not_sent_public_where_the_posts_visibility_is_unknown(emulators: RunningEmulators) -> None:
    # A mention stored without its visibility (pruned by an older version, imported without raw) may be a DM.
    status_id = emulators.mastodon.add_status("@orbisto my address is 1 Main St", username="ana", visibility="direct")
    with pytest.raises(ReplyNotAllowed, match="who can see the post"):
        masto(emulators).reply(ReplyTarget("mastodon", status_id, True, raw={"acct": "ana"}), "Ships tomorrow!", "k1")
    assert emulators.mastodon.replies_to(status_id) == []


def test_429_raises_rate_limited_until_reset_without_calling_again(emulators: RunningEmulators) -> None:
    connector = masto(emulators)
    emulators.mastodon.inject("rate_limit", retry_after=120)
    with pytest.raises(RateLimited) as caught:
        connector.fetch(SEARCH_ONLY, None)
    assert 100 <= caught.value.retry_after <= 121
    served = emulators.mastodon.requests_served
    with pytest.raises(RateLimited):
        connector.fetch(SEARCH_ONLY, None)
    assert emulators.mastodon.requests_served == served


def test_an_answer_that_is_not_json_raises_bad_payload(emulators: RunningEmulators) -> None:
    emulators.mastodon.inject("malformed_json", path_contains="/search")
    with pytest.raises(BadPayload, match="malformed JSON"):
        masto(emulators).fetch(SEARCH_ONLY, None)


def test_statuses_without_account_or_time_are_read_without_them(emulators: RunningEmulators) -> None:
    emulators.mastodon.inject("missing_fields", path_contains="/search")
    mentions = masto(emulators).fetch(SEARCH_ONLY, None).mentions
    assert mentions and all(m.author_handle is None and "created_at_as_sent" in m.raw for m in mentions)


def test_bad_token_fails_without_echoing_it(emulators: RunningEmulators) -> None:
    secret = "wrong-mastodon-token-123"
    with pytest.raises(ConnectorError) as caught:
        masto(emulators, {"access_token": secret}).fetch(SEARCH_ONLY, None)
    assert "401" in str(caught.value) and secret not in str(caught.value)


def test_poll_once_stores_mastodon_mentions_once(emulators: RunningEmulators, sqlite_db: Database) -> None:
    config = one_connector_config(sqlite_db, "mastodon", {"api_base_url": emulators.mastodon_url, "page_size": 10},
                                  env={"MENTIONDESK_MASTODON_ACCESS_TOKEN": DEMO_SECRETS["mastodon"]["access_token"]},
                                  handle=DEMO_MASTODON_USERNAME)
    assert poll(sqlite_db, config).ok
    stored = stored_ids(sqlite_db, "mastodon")
    assert stored and poll(sqlite_db, config).stored == 0
    new = emulators.mastodon.add_status("@orbisto the app logs me out every hour", username="ben")
    assert poll(sqlite_db, config).ok and stored_ids(sqlite_db, "mastodon") - stored == {new}
