"""One source of a connector that keeps failing (a feed gone, a scope missing, a subreddit banned)
does not stop the connector's other sources: the cursor moves past it, the error is reported, and
the connector is not backed off unless every source failed."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from connectors.base import ConnectorError
from connectors.emulators import DEMO_BLUESKY_HANDLE, DEMO_MASTODON_USERNAME, DEMO_SECRETS, RunningEmulators
from connectors.emulators.server import Request, Response
from monitor.models import Mention
from monitor.poller import poll_once
from monitor.storage import Database
from tests.emulator_fixtures import REDDIT_QUERY, reddit_connector, stored_ids
from tests.fault_tools import connector_status, rewrite_answers, url_of, x_worker_config
from tests.more_sources_fixtures import one_connector_config, poll


def _refuse(emulators: RunningEmulators, server: str, fragment: str) -> None:
    """Answer 403 to every request whose path holds ``fragment`` (on the X or Reddit emulator)."""
    def rewrite(request: Request, response: Response) -> Response:
        refused = Response(403, {"title": "Forbidden", "detail": "not for this app"})
        return refused if fragment in request.path else response

    rewrite_answers(getattr(emulators, f"{server}_server"), rewrite)


def test_x_mentions_refused_leaves_search_running_and_reports_it(sqlite_db: Database,
                                                                 emulators: RunningEmulators) -> None:
    # Search comes first in a round and mentions second; a mentions timeline refused for good kept
    # the cursor on it, so from the second poll on search was never read again.
    config = x_worker_config(url_of(sqlite_db), emulators.x_url)
    _refuse(emulators, "x", "/mentions")
    first = poll_once(sqlite_db, config)[0]
    assert first.stored > 0 and first.error is not None and "mentions: " in first.error and "403" in first.error
    assert connector_status(sqlite_db, "x").backoff_until is None, "one source failing does not hold back the others"
    later = emulators.x.add_post("Orbisto support fixed my order in minutes")
    second = poll_once(sqlite_db, config)[0]
    assert "mentions: " in (second.error or "")
    assert second.stored == 1, "search was read again past the failing mentions source"
    with sqlite_db.read() as session:
        assert session.scalar(select(Mention.id).where(Mention.external_id == later)) is not None
    status = connector_status(sqlite_db, "x")
    assert status.consecutive_failures == 2 and "mentions: " in (status.last_error or "")


def test_every_x_source_refused_backs_the_connector_off(sqlite_db: Database, emulators: RunningEmulators) -> None:
    config = x_worker_config(url_of(sqlite_db), emulators.x_url)
    _refuse(emulators, "x", "/2/")
    report = poll_once(sqlite_db, config)[0]
    assert report.stored == 0 and "search: " in (report.error or "") and "mentions: " in (report.error or "")
    status = connector_status(sqlite_db, "x")
    assert status.backoff_until is not None and status.backoff_reason == "error"


def test_a_refused_reddit_source_moves_the_cursor_on_to_the_others(emulators: RunningEmulators) -> None:
    connector = reddit_connector(emulators, page_size=100,
                                 comment_subreddits=["technology", "india", "mexico", "orbisto"])
    _refuse(emulators, "reddit", "/search")
    with pytest.raises(ConnectorError) as caught:  # the error is still the connector's own
        connector.fetch(REDDIT_QUERY, None)
    resume = caught.value.resume
    assert resume is not None and resume.mentions == [] and resume.has_more
    assert (resume.source_error or "").startswith("search: ")
    assert json.loads(resume.next_cursor or "{}")["pending"] == ["comments", "mentions"]
    after = connector.fetch(REDDIT_QUERY, resume.next_cursor)
    assert after.mentions and {m.raw["source"] for m in after.mentions} == {"comments"}


@pytest.mark.parametrize("platform", ["mastodon", "bluesky"])
def test_a_refused_mastodon_or_bluesky_source_does_not_stop_the_others(platform: str, sqlite_db: Database,
                                                                         emulators: RunningEmulators) -> None:
    # Mastodon: a token without read:notifications; Bluesky: a search the AppView refuses with a 400.
    # Each stopped the connector's other sources from the second poll on.
    env = {f"MENTIONDESK_{platform.upper()}_{k.upper()}": v for k, v in DEMO_SECRETS[platform].items()}
    handle = DEMO_MASTODON_USERNAME if platform == "mastodon" else DEMO_BLUESKY_HANDLE
    config = one_connector_config(sqlite_db, platform, {"api_base_url": getattr(emulators, f"{platform}_url"),
                                                        "page_size": 10}, env=env, handle=handle)
    emulator = getattr(emulators, platform)
    if platform == "mastodon":
        emulator.inject("server_error", times=1000, status=403, path_contains="/notifications")
        add = lambda n: emulator.add_status(f"Orbisto ate my homework #Orbisto {n}", username=f"u{n}")  # noqa: E731
        failing = "notifications: "
    else:
        emulator.inject("server_error", times=1000, status=400, path_contains="searchPosts")
        add = lambda n: emulator.add_post(f"@{handle} my order {n} never came", handle="ana.bsky.social")  # noqa: E731
        failing = "search:Orbisto: "
    for n in range(3):
        new = add(n)
        report = poll(sqlite_db, config)
        assert failing in (report.error or ""), report.error
        assert new in stored_ids(sqlite_db, platform), f"poll {n + 1} read past the failing source"
