"""The Bluesky connector, through the unmodified atproto SDK, against the Bluesky XRPC emulator."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from connectors.base import (BadPayload, ConnectorError, DeliveryUnknown, Query, RateLimited, ReplyNotAllowed,
                             ReplyTarget)
from connectors.bluesky import BlueskyConnector, BlueskySettings
from connectors.emulators import DEMO_BLUESKY_HANDLE, DEMO_SECRETS, RunningEmulators
from connectors.emulators.bluesky_api import Actor, iso
from monitor.config import Config
from monitor.storage import Database
from tests.emulator_fixtures import drain, stored_ids
from tests.more_sources_fixtures import FAST_RETRIES, one_connector_config, poll, stored_rows

QUERY = Query(key="orbisto", brand="Orbisto", keywords=("Orbisto",), handle=DEMO_BLUESKY_HANDLE)
SEARCH_ONLY = Query(key="orbisto", brand="Orbisto", keywords=("Orbisto",))


def bsky(running: RunningEmulators, secrets: dict[str, str] | None = None, **settings: object) -> BlueskyConnector:
    options = {"api_base_url": running.bluesky_url, "page_size": 5, **FAST_RETRIES, **settings}
    return BlueskyConnector(BlueskySettings(**options), secrets or dict(DEMO_SECRETS["bluesky"]))


def seen(running: RunningEmulators) -> str | None:
    return iso(running.bluesky.seen_at) if running.bluesky.seen_at else None


def refs(reply: dict) -> dict[str, tuple[str, str]]:
    """The reply's strong refs (the SDK also sends their ``$type``)."""
    return {k: (ref["uri"], ref["cid"]) for k, ref in reply["reply"].items() if k in ("root", "parent")}


def expected_search(running: RunningEmulators, uris: set[str]) -> set[str]:
    return {u for u in uris if "orbisto" in running.bluesky._posts[u].record["text"].lower()}


def bluesky_config(running: RunningEmulators, db: Database, **settings: object) -> Config:
    env = {f"MENTIONDESK_BLUESKY_{k.upper()}": v for k, v in DEMO_SECRETS["bluesky"].items()}
    return one_connector_config(db, "bluesky", {"api_base_url": running.bluesky_url, "page_size": 10, **settings},
                                env=env, handle=DEMO_BLUESKY_HANDLE)


def test_reads_search_and_mention_notifications(emulators: RunningEmulators) -> None:
    connector = bsky(emulators)
    mentions, _, pages = drain(connector, QUERY, None)
    assert len(pages) == 2  # first poll: the newest page of each source
    assert {m.raw["source"] for m in mentions} == {"search", "notifications"}
    assert all(m.external_id.startswith("at://did:plc:") and m.created_at.tzinfo and m.lang for m in mentions)
    assert all(m.url == f"https://bsky.app/profile/{m.author_handle}/post/{m.external_id.rsplit('/', 1)[1]}" for m in mentions)
    assert all("@orbisto.bsky.social" in m.text and m.raw["mentions_brand"] for m in mentions if m.raw["source"] == "notifications")
    assert emulators.bluesky.seen_at is not None, "updateSeen after the notifications walk"
    # Search across the whole backlog: thread roots of replies, and threadgates honoured.
    everything, _, _ = drain(bsky(emulators, page_size=100), SEARCH_ONLY, None)
    replies = [m for m in everything if m.parent_id]
    assert replies and all(m.thread_id != m.external_id and m.thread_id == emulators.bluesky._posts[m.external_id].root_uri
                           for m in replies)
    gated = {m.external_id: m.replyable for m in everything if emulators.bluesky._posts[m.external_id].gate is not None}
    assert False in gated.values()
    assert all(m.replyable for m in everything if emulators.bluesky._reply_disabled(emulators.bluesky._posts[m.external_id]) is False)


def test_walks_pages_and_resumes_after_restart_without_gaps_or_repeats(emulators: RunningEmulators) -> None:
    _, cursor, _ = drain(bsky(emulators), SEARCH_ONLY, None)
    new = set(emulators.bluesky.add_posts(40))
    first = bsky(emulators)
    page1 = first.fetch(SEARCH_ONLY, cursor)
    assert page1.has_more and len(page1.mentions) <= 5
    first.close()  # "crash" after page1 was stored with its cursor
    during = set(emulators.bluesky.add_posts(6))  # arrive mid-walk: `until` keeps them for the next walk
    rest, cursor, pages = drain(bsky(emulators), SEARCH_ONLY, page1.next_cursor)
    got = [m.external_id for m in page1.mentions + rest]
    assert len(pages) > 2 and len(got) == len(set(got)) and set(got) == expected_search(emulators, new)
    late = emulators.bluesky.add_post("Orbisto refund finally arrived", created_at=datetime.now(timezone.utc) - timedelta(seconds=20))
    again, cursor, _ = drain(bsky(emulators), SEARCH_ONLY, cursor)
    assert {m.external_id for m in again} == expected_search(emulators, during) | {late}, "late-indexed posts within the overlap"
    assert drain(bsky(emulators), SEARCH_ONLY, cursor)[0] == []


def test_new_mention_notifications_are_read_once_and_marked_seen(emulators: RunningEmulators) -> None:
    _, cursor, _ = drain(bsky(emulators, search=False), QUERY, None)
    uris = [emulators.bluesky.add_post(f"@orbisto.bsky.social where is order {n}?", handle="ana.bsky.social") for n in range(12)]
    emulators.bluesky.add_post("no mention of the brand here", handle="ana.bsky.social")
    mentions, cursor, pages = drain(bsky(emulators, search=False), QUERY, cursor)
    assert len(pages) >= 3 and [m.external_id for m in mentions] == uris[::-1]
    assert seen(emulators) == iso(emulators.bluesky._posts[uris[-1]].indexed_at), "updateSeen up to the newest"
    assert drain(bsky(emulators, search=False), QUERY, cursor)[0] == []


def test_reply_round_trip_sets_root_and_parent_refs(emulators: RunningEmulators) -> None:
    root = emulators.bluesky.add_post("@orbisto.bsky.social my parcel is lost", handle="ana.bsky.social")
    child = emulators.bluesky.add_post("still lost, @orbisto.bsky.social", handle="ana.bsky.social", reply_to=root)
    connector = bsky(emulators)
    mention = next(m for m in drain(connector, QUERY, None)[0] if m.external_id == child)
    assert mention.thread_id == root and mention.parent_id == root and mention.replyable
    target = ReplyTarget("bluesky", child, mention.replyable, thread_id=mention.thread_id, raw=mention.raw)
    posted = connector.reply(target, "Sorry! Please send your order number.", "key-1")
    (shown,) = emulators.bluesky.replies_to(child)
    posts = emulators.bluesky._posts
    assert shown["uri"] == posted.external_id and shown["author"] == DEMO_BLUESKY_HANDLE
    assert refs(shown) == {"root": (root, posts[root].cid), "parent": (child, posts[child].cid)}
    assert posted.url and posted.url.startswith("https://bsky.app/profile/orbisto.bsky.social/post/")
    connector.reply(ReplyTarget("bluesky", root, True, raw=mention.raw), "On it.", "key-2")
    assert refs(emulators.bluesky.replies_to(root)[-1]) == {"root": (root, posts[root].cid), "parent": (root, posts[root].cid)}


def test_a_5xx_answer_to_a_reply_is_delivery_unknown_and_never_sent_again_by_itself(emulators: RunningEmulators) -> None:
    post = emulators.bluesky.add_post("@orbisto.bsky.social is the app down?", handle="ana.bsky.social")
    connector = bsky(emulators)
    mention = next(m for m in drain(connector, QUERY, None)[0] if m.external_id == post)
    emulators.bluesky.inject("server_error", status=504, path_contains="createRecord")
    with pytest.raises(DeliveryUnknown, match="504"):  # it retried the write, and the retry posted it
        connector.reply(ReplyTarget("bluesky", post, True, raw=mention.raw), "Not down, checking for you", "key-1")
    assert emulators.bluesky.replies_to(post) == []


def test_threadgated_deleted_or_too_long_replies_are_refused(emulators: RunningEmulators) -> None:
    closed = emulators.bluesky.add_post("Orbisto thoughts, replies off", gate=[])
    mentioned_only = emulators.bluesky.add_post("@orbisto.bsky.social answer me here", gate=[{"$type": "app.bsky.feed.threadgate#mentionRule"}])
    found = {m.external_id: m for m in drain(bsky(emulators, page_size=20), SEARCH_ONLY, None)[0]}
    assert not found[closed].replyable and found[mentioned_only].replyable
    connector = bsky(emulators)
    with pytest.raises(ReplyNotAllowed, match="threadgate"):
        connector.reply(ReplyTarget("bluesky", closed, False, raw=found[closed].raw), "hi", "k1")
    emulators.bluesky.delete_post(mentioned_only)
    with pytest.raises(ReplyNotAllowed, match="no longer exists"):
        connector.reply(ReplyTarget("bluesky", mentioned_only, True, raw=found[mentioned_only].raw), "hi", "k2")
    with pytest.raises(ConnectorError, match="allows 300"):
        connector.reply(ReplyTarget("bluesky", closed, True), "a" * 301, "k3")


def test_429_raises_rate_limited_until_reset_and_the_page_is_read_again_later(emulators: RunningEmulators) -> None:
    _, cursor, _ = drain(bsky(emulators), SEARCH_ONLY, None)
    new = set(emulators.bluesky.add_posts(20))
    connector = bsky(emulators)
    page1 = connector.fetch(SEARCH_ONLY, cursor)
    emulators.bluesky.inject("rate_limit", retry_after=120, path_contains="searchPosts")
    with pytest.raises(RateLimited) as caught:
        connector.fetch(SEARCH_ONLY, page1.next_cursor)
    assert 100 <= caught.value.retry_after <= 121
    served = emulators.bluesky.requests_served
    with pytest.raises(RateLimited):
        connector.fetch(SEARCH_ONLY, page1.next_cursor)
    assert emulators.bluesky.requests_served == served, "no call while the window is used up"
    # Nothing was returned for the refused page, so the stored cursor is still page1's: resume from it.
    rest, _, _ = drain(bsky(emulators), SEARCH_ONLY, page1.next_cursor)
    assert {m.external_id for m in page1.mentions + rest} == expected_search(emulators, new)


@pytest.mark.parametrize(("fault", "message"), [("malformed_json", "malformed JSON"), ("missing_fields", "missing")])
def test_broken_answers_raise_bad_payload(emulators: RunningEmulators, fault: str, message: str) -> None:
    emulators.bluesky.inject(fault, path_contains="searchPosts")  # type: ignore[arg-type]
    with pytest.raises(BadPayload, match=message):
        bsky(emulators).fetch(SEARCH_ONLY, None)


def test_server_errors_are_retried_and_a_bad_password_is_not_echoed(emulators: RunningEmulators) -> None:
    emulators.bluesky.inject("server_error", times=2, path_contains="searchPosts")
    assert bsky(emulators).fetch(SEARCH_ONLY, None).mentions
    secret = "wrong-app-password-123"
    with pytest.raises(ConnectorError) as caught:
        bsky(emulators, {"handle": DEMO_BLUESKY_HANDLE, "app_password": secret}).fetch(SEARCH_ONLY, None)
    assert "401" in str(caught.value) or "rejected" in str(caught.value)
    assert secret not in str(caught.value)


def test_poll_once_stores_bluesky_mentions_once(emulators: RunningEmulators, sqlite_db: Database) -> None:
    config = bluesky_config(emulators, sqlite_db)
    assert poll(sqlite_db, config).ok
    stored = stored_ids(sqlite_db, "bluesky")
    assert stored and poll(sqlite_db, config).stored == 0
    new = emulators.bluesky.add_post("@orbisto.bsky.social the app logs me out every hour", handle="ben.bsky.social")
    assert poll(sqlite_db, config).ok and stored_ids(sqlite_db, "bluesky") - stored == {new}
    assert seen(emulators) == iso(emulators.bluesky._posts[new].indexed_at)


def test_a_post_deleted_mid_walk_does_not_make_the_walk_skip_one(emulators: RunningEmulators) -> None:
    _, cursor, _ = drain(bsky(emulators), SEARCH_ONLY, None)
    now = datetime.now(timezone.utc)
    new = [emulators.bluesky.add_post(f"Orbisto problem number {n}", handle=f"u{n}.bsky.social",
                                      created_at=now - timedelta(minutes=2 * (12 - n))) for n in range(12)]
    page1 = bsky(emulators).fetch(SEARCH_ONLY, cursor)
    assert page1.has_more and [m.external_id for m in page1.mentions] == new[:6:-1]
    emulators.bluesky.delete_post(new[10])  # read on page 1, then deleted by its author
    rest, cursor, _ = drain(bsky(emulators), SEARCH_ONLY, page1.next_cursor)
    later, _, _ = drain(bsky(emulators), SEARCH_ONLY, cursor)
    got = [m.external_id for m in page1.mentions + rest + later]
    assert len(got) == len(set(got)) and set(got) == set(new)


def test_a_created_at_python_cannot_read_counts_as_indexed_at(emulators: RunningEmulators, sqlite_db: Database) -> None:
    config = bluesky_config(emulators, sqlite_db, search=False)
    assert poll(sqlite_db, config).ok
    odd = emulators.bluesky.add_post("@orbisto.bsky.social hi from the year zero", handle="ana.bsky.social")
    emulators.bluesky._posts[odd].record["createdAt"] = "0000-01-01T00:00:00.000Z"  # Python has no year 0
    assert poll(sqlite_db, config).ok
    later = emulators.bluesky.add_post("@orbisto.bsky.social my order is late", handle="ben.bsky.social")
    assert poll(sqlite_db, config).ok
    rows = stored_rows(sqlite_db, "bluesky")
    assert later in rows and rows[odd]["raw"]["created_at"] == "0000-01-01T00:00:00.000Z"
    assert rows[odd]["created_at"].strftime("%Y-%m-%dT%H:%M:%S") == iso(emulators.bluesky._posts[odd].indexed_at)[:19]


def test_a_created_at_before_year_1_in_utc_counts_as_indexed_at(emulators: RunningEmulators,
                                                                sqlite_db: Database) -> None:
    odd = emulators.bluesky.add_post("Orbisto is great")
    emulators.bluesky._posts[odd].record["createdAt"] = "0001-01-01T00:30:00+01:00"  # readable, but UTC has no year 0
    config = bluesky_config(emulators, sqlite_db, notifications=False, page_size=100)
    assert poll(sqlite_db, config).ok and poll(sqlite_db, config).ok
    assert stored_rows(sqlite_db, "bluesky")[odd]["raw"]["created_at"] == "0001-01-01T00:30:00+01:00"


def test_an_at_uri_too_long_to_store_is_hashed_and_replies_still_reach_it(emulators: RunningEmulators,
                                                                        sqlite_db: Database) -> None:
    config = bluesky_config(emulators, sqlite_db, search=False)
    assert poll(sqlite_db, config).ok
    host = ".".join(["a" * 60] * 3) + ".example.com"  # a did:web author: a legal host name, a 240-character URI
    emulators.bluesky._actors["long.example.com"] = Actor("did:web:" + host, "long.example.com", "Long")
    root = emulators.bluesky.add_post("@orbisto.bsky.social my parcel is lost", handle="long.example.com")
    child = emulators.bluesky.add_post("@orbisto.bsky.social still lost", handle="long.example.com", reply_to=root)
    later = emulators.bluesky.add_post("@orbisto.bsky.social me too", handle="ben.bsky.social")
    assert len(root) > 200 and poll(sqlite_db, config).ok
    rows = {row["raw"]["uri"]: row for row in stored_rows(sqlite_db, "bluesky").values()}
    assert {root, child, later} <= rows.keys() and rows[later]["external_id"] == later
    root_id, child_row = rows[root]["external_id"], rows[child]
    assert root_id.startswith("sha256:") and child_row["thread_id"] == root_id
    target = ReplyTarget("bluesky", child_row["external_id"], True, thread_id=root_id, raw=child_row["raw"])
    bsky(emulators).reply(target, "Sorry! Please send your order number.", "key-1")
    posts = emulators.bluesky._posts
    (shown,) = emulators.bluesky.replies_to(child)
    assert refs(shown) == {"root": (root, posts[root].cid), "parent": (child, posts[child].cid)}
