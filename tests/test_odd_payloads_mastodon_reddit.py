"""One odd Mastodon status or Reddit item in a page is read with what can be known of it (or, with no id to
store it under, set aside in the audit log), and the rest of the page and the cursor go on. Each of these used
to fail the page: the source then errored on every poll and never read anything newer."""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Any, Callable

import pytest

from connectors.base import BadPayload, ReplyNotAllowed, ReplyTarget
from connectors.emulators import DEMO_MASTODON_USERNAME, DEMO_REDDIT_USERNAME, DEMO_SECRETS, RunningEmulators
from connectors.emulators.server import Request, Response
from monitor.storage import Database
from tests.emulator_fixtures import reddit_connector
from tests.fault_tools import rewrite_answers
from tests.more_sources_fixtures import one_connector_config, poll
from tests.test_mastodon_connector import SEARCH_ONLY, masto
from tests.test_odd_payloads_do_not_stop_sources import check_a_post_without_an_id_is_set_aside, fetched_lately, stored
from tests.test_odd_payloads_x_bluesky import set_aside_entries

# -- Mastodon ----------------------------------------------------------------------------------------


def mastodon_config(db: Database, emulators: RunningEmulators) -> Any:
    env = {"MENTIONDESK_MASTODON_ACCESS_TOKEN": DEMO_SECRETS["mastodon"]["access_token"]}
    return one_connector_config(db, "mastodon", {"api_base_url": emulators.mastodon_url, "page_size": 10},
                                env=env, handle=DEMO_MASTODON_USERNAME)


def odd_mastodon_status(emulators: RunningEmulators, status_id: str, change: Callable[[dict[str, Any]], None]) -> None:
    """Apply ``change`` to status ``status_id`` wherever search, hashtag timelines or notifications serve it."""
    def rewrite(request: Request, response: Response) -> Response:
        payload = response.payload
        items = payload.get("statuses") if isinstance(payload, dict) else payload
        for item in items if isinstance(items, list) else []:
            status = item.get("status") or item if "/notifications" in request.path else item
            if status.get("id") == status_id:
                change(status)
        return response

    rewrite_answers(emulators.mastodon_server, rewrite)


def test_mastodon_statuses_without_an_account_or_a_readable_date_are_stored_and_the_sources_go_on(
        db: Database, emulators: RunningEmulators) -> None:
    config = mastodon_config(db, emulators)
    assert poll(db, config).ok
    no_account = emulators.mastodon.add_status("Orbisto billing is broken #Orbisto", username="gone")
    unreadable = emulators.mastodon.add_status("Orbisto support is slow", username="broken_clock")
    naive = emulators.mastodon.add_status("Orbisto router died again", username="naive_clock")
    notified = emulators.mastodon.add_status("@orbisto my parcel is lost", username="quiet", visibility="direct")
    odd_mastodon_status(emulators, no_account, lambda status: status.pop("account"))
    odd_mastodon_status(emulators, unreadable, lambda status: status.__setitem__("created_at", "yesterday"))
    odd_mastodon_status(emulators, naive, lambda status: status.__setitem__("created_at", "2026-11-19T10:00:00"))
    odd_mastodon_status(emulators, notified, lambda status: status.__setitem__("account", None))
    later = emulators.mastodon.add_status("Orbisto refund arrived", username="happy_later")
    before = datetime.now(timezone.utc)
    report = poll(db, config)
    assert report.ok and report.set_aside == 0, report.error  # search, the hashtag and notifications
    rows = stored(db, "mastodon")
    assert {no_account, unreadable, naive, notified, later} <= rows.keys()
    for status_id in (no_account, notified):
        assert rows[status_id].author_handle is None and rows[status_id].author_name is None
        # A reply could not @mention its author, and Mastodon notifies only the accounts a post mentions.
        assert not rows[status_id].replyable and rows[status_id].raw["acct"] is None
    assert rows[notified].text == "@orbisto my parcel is lost" and rows[notified].raw["visibility"] == "direct"
    assert rows[unreadable].author_handle == "broken_clock" and rows[unreadable].replyable
    assert fetched_lately(rows[unreadable], before) and "created_at_as_sent" in rows[unreadable].raw
    assert rows[naive].created_at.astimezone(timezone.utc) == datetime(2026, 11, 19, 10, tzinfo=timezone.utc)
    emulators.mastodon.add_status("Orbisto thanks!", username="happy_later")
    again = poll(db, config)
    assert again.ok and again.stored == 1, "the cursors moved past them: only the new status"


def test_a_mastodon_status_without_an_id_is_set_aside_and_the_rest_stored(db: Database,
                                                                         emulators: RunningEmulators) -> None:
    check_a_post_without_an_id_is_set_aside(
        db, mastodon_config(db, emulators), "mastodon",
        lambda text, author: emulators.mastodon.add_status(text, username=author),
        lambda status_id: odd_mastodon_status(emulators, status_id, lambda status: status.pop("id")))


@pytest.mark.parametrize("status", [None, "gone", ["a list"]])
def test_a_mastodon_notification_without_its_status_is_skipped_with_a_warning(
        status: Any, db: Database, emulators: RunningEmulators, caplog: pytest.LogCaptureFixture) -> None:
    config = mastodon_config(db, emulators)
    assert poll(db, config).ok
    # Direct messages: only notifications carry them.
    empty = emulators.mastodon.add_status("@orbisto my card 4111 was charged twice", username="ana",
                                          visibility="direct")

    def without_status(request: Request, response: Response) -> Response:
        if "/notifications" in request.path and isinstance(response.payload, list):
            for note in response.payload:
                if note["id"] == empty:
                    note["status"] = status
        return response

    rewrite_answers(emulators.mastodon_server, without_status)
    later = emulators.mastodon.add_status("@orbisto thanks for the help", username="ben", visibility="direct")
    with caplog.at_level(logging.WARNING):
        report = poll(db, config)
    assert report.ok and report.set_aside == 0, report.error
    assert later in stored(db, "mastodon") and empty not in stored(db, "mastodon")
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert any(empty in w and "no status" in w for w in warnings), warnings
    assert not any("4111" in w for w in warnings), "named by id only: never its text"
    emulators.mastodon.add_status("@orbisto all good now", username="ben", visibility="direct")
    again = poll(db, config)
    assert again.ok and again.stored == 1, "the cursor moved past it: only the new notification"


def test_a_mastodon_answer_that_is_not_a_list_is_still_refused(emulators: RunningEmulators) -> None:
    def not_a_list(request: Request, response: Response) -> Response:
        if "/search" in request.path:
            response.payload = {"statuses": {"error": "oops"}}
        return response

    rewrite_answers(emulators.mastodon_server, not_a_list)
    with pytest.raises(BadPayload, match="not a list of objects"):
        masto(emulators).fetch(SEARCH_ONLY, None)


# -- Reddit ------------------------------------------------------------------------------------------


def reddit_config(db: Database, emulators: RunningEmulators) -> Any:
    env = {f"MENTIONDESK_REDDIT_{k.upper()}": v for k, v in DEMO_SECRETS["reddit"].items()}
    return one_connector_config(db, "reddit", {"oauth_url": emulators.reddit_url, "reddit_url": emulators.reddit_url,
                                               "page_size": 10}, env=env, handle=DEMO_REDDIT_USERNAME)


def odd_reddit_item(emulators: RunningEmulators, fullname: str, change: Callable[[dict[str, Any]], None]) -> None:
    """Apply ``change`` to the data of item ``fullname`` wherever a listing serves it."""
    def rewrite(request: Request, response: Response) -> Response:
        if isinstance(response.payload, dict) and response.payload.get("kind") == "Listing":
            for child in response.payload["data"]["children"]:
                if child["data"].get("name") == fullname:
                    change(child["data"])
        return response

    rewrite_answers(emulators.reddit_server, rewrite)


def without(*keys: str) -> Callable[[dict[str, Any]], None]:
    return lambda data: [data.pop(key) for key in keys]


def test_reddit_items_missing_required_parts_are_stored_and_the_sources_go_on(db: Database,
                                                                              emulators: RunningEmulators) -> None:
    config = reddit_config(db, emulators)
    assert poll(db, config).ok
    no_author = emulators.reddit.add_submission("Orbisto charged me twice", author="ghost")
    odd_time = emulators.reddit.add_submission("Orbisto outage again?", author="broken_clock")
    no_title = emulators.reddit.add_submission("Orbisto title lost", "the app crashes on start", author="quiet")
    no_body = emulators.reddit.add_comment("u/orbisto_support help me", subreddit="india", author="mute")
    odd_reddit_item(emulators, no_author, without("author"))
    odd_reddit_item(emulators, odd_time, lambda data: data.update(created_utc="yesterday", created="yesterday"))
    odd_reddit_item(emulators, no_title, without("title", "subreddit"))
    odd_reddit_item(emulators, no_body, without("body", "subreddit", "created_utc"))
    later = emulators.reddit.add_submission("Orbisto refund arrived", author="happy_later")
    before = datetime.now(timezone.utc)
    report = poll(db, config)
    assert report.ok and report.set_aside == 0, report.error  # search and the inbox
    rows = stored(db, "reddit")
    assert {no_author, odd_time, no_title, no_body, later} <= rows.keys()
    assert rows[no_author].author_handle is None and rows[no_author].text == "Orbisto charged me twice"
    assert fetched_lately(rows[odd_time], before) and rows[odd_time].raw["created_at_as_sent"] == "yesterday"
    assert rows[no_title].text == "the app crashes on start" and rows[no_title].raw["subreddit"] is None
    assert rows[no_body].text == "" and rows[no_body].author_handle == "mute"
    assert fetched_lately(rows[no_body], before) and rows[no_body].raw["created_at_as_sent"] is None
    assert no_body not in emulators.reddit.unread_mentions(), "the inbox mention was marked read once stored"
    emulators.reddit.add_submission("Orbisto thanks!", author="happy_later")
    again = poll(db, config)
    assert again.ok and again.stored == 1, "the cursors moved past them: only the new item"


@pytest.mark.parametrize("change", [without("id", "name"), lambda data: data.update(id="abc-1", name="t3_abc-1"),
                                    lambda data: data.update(id=None)], ids=["no id", "not base 36", "null"])
def test_a_reddit_item_without_a_base36_id_is_set_aside_and_the_rest_stored(
        change: Callable[[dict[str, Any]], None], db: Database, emulators: RunningEmulators,
        caplog: pytest.LogCaptureFixture) -> None:
    config = reddit_config(db, emulators)
    assert poll(db, config).ok
    no_id = emulators.reddit.add_submission("Orbisto lost my order 5521", author="no_id")
    odd_reddit_item(emulators, no_id, change)
    later = emulators.reddit.add_submission("Orbisto refund arrived", author="happy_later")
    with caplog.at_level(logging.WARNING):
        report = poll(db, config)
    assert report.ok and report.set_aside == 1 and report.stored == 1, report.error
    assert later in stored(db, "reddit")
    (entry,) = set_aside_entries(db)
    assert "no external id" in entry["reason"] and entry["mention"]["text"] == "Orbisto lost my order 5521"
    assert not any("order 5521" in r.getMessage() for r in caplog.records), "named by id only: never its text"
    emulators.reddit.add_submission("Orbisto thanks!", author="happy_later")
    again = poll(db, config)
    assert again.ok and again.stored == 1 and again.set_aside == 0, "the cursor moved past it"


def test_a_reddit_answer_that_is_not_a_listing_is_still_refused(emulators: RunningEmulators) -> None:
    def not_a_listing(request: Request, response: Response) -> Response:
        if "/search" in request.path:
            response.payload = {"kind": "t3", "data": {"children": []}}
        return response

    rewrite_answers(emulators.reddit_server, not_a_listing)
    with pytest.raises(BadPayload, match="not a Listing"):
        reddit_connector(emulators).fetch(SEARCH_ONLY, None)


@pytest.mark.parametrize("empty", ["blank", "missing"])
def test_a_reddit_reply_answered_without_a_base36_id_is_still_an_error(emulators: RunningEmulators,
                                                                         empty: str) -> None:
    comment = emulators.reddit.add_comment("u/orbisto_support help")

    def reply_without_id(request: Request, response: Response) -> Response:
        if request.path.rstrip("/").endswith("/api/comment") and isinstance(response.payload, dict):
            for thing in response.payload["json"]["data"]["things"]:
                if empty == "blank":
                    thing["data"]["id"] = ""
                else:  # praw itself refused to build the comment (ValueError) until 2026-12-07
                    del thing["data"]["id"]
        return response

    rewrite_answers(emulators.reddit_server, reply_without_id)
    with pytest.raises(BadPayload, match="no base-36 id"):
        reddit_connector(emulators).reply(ReplyTarget("reddit", comment, replyable=True), "On it", "k")


@pytest.mark.parametrize("visibility", [None, "local", 7])
def test_a_mastodon_status_whose_visibility_is_missing_or_unknown_is_never_answered_publicly(
        db: Database, emulators: RunningEmulators, visibility: Any) -> None:
    config = mastodon_config(db, emulators)
    assert poll(db, config).ok
    dm = emulators.mastodon.add_status("@orbisto my card number is 4111…", username="quiet", visibility="direct")
    odd_mastodon_status(emulators, dm, lambda status: status.__setitem__("visibility", visibility))
    assert poll(db, config).ok
    row = stored(db, "mastodon")[dm]
    assert row.raw["visibility"] is None
    target = ReplyTarget("mastodon", dm, replyable=row.replyable, raw=row.raw)
    with pytest.raises(ReplyNotAllowed, match="who can see the post"):
        masto(emulators).reply(target, "Sorry! We are on it.", "key-1")
    assert emulators.mastodon.replies_to(dm) == []
