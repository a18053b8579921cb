"""A brand with a reddit handle but only the app's secrets (no account): search and comments are read
and stored through app-only OAuth, and only the mentions source reports that it needs the account.
It used to fail the whole query, before any source was read, every round."""

from __future__ import annotations

import json

import pytest

from connectors.base import ConnectorError, Query
from connectors.emulators import DEMO_BRAND, DEMO_REDDIT_USERNAME, DEMO_SECRETS, RunningEmulators
from monitor.config import Config
from monitor.poller import poll_once
from monitor.storage import Database
from tests.emulator_fixtures import FAST_RETRIES, REDDIT_QUERY, reddit_connector, stored_ids
from tests.fault_tools import connector_status

APP_ONLY = {k: DEMO_SECRETS["reddit"][k] for k in ("client_id", "client_secret")}
SUBS = ["technology", "india", "mexico", "orbisto"]
NEEDS_ACCOUNT = "mentions: reading u/orbisto_support's mentions needs the account"


def _config(db: Database, emulators: RunningEmulators) -> Config:
    env = {f"MENTIONDESK_REDDIT_{k.upper()}": v for k, v in APP_ONLY.items()}
    return Config.from_dict(
        {
            "database": {"url": db.engine.url.render_as_string(hide_password=False)},
            "brands": [{"name": DEMO_BRAND, "keywords": [DEMO_BRAND], "handles": {"reddit": DEMO_REDDIT_USERNAME}}],
            "connectors": {"reddit": {"oauth_url": emulators.reddit_url, "reddit_url": emulators.reddit_url,
                                      "page_size": 10, "comment_subreddits": SUBS, **FAST_RETRIES}},
        },
        env=env,
    )


def test_the_connector_reads_search_and_comments_and_fails_only_the_mentions_source(
        emulators: RunningEmulators) -> None:
    connector = reddit_connector(emulators, secrets=APP_ONLY, page_size=100, comment_subreddits=SUBS)
    search = connector.fetch(REDDIT_QUERY, None)
    assert search.mentions and {m.raw["source"] for m in search.mentions} == {"search"}
    assert not any(m.replyable for m in search.mentions), "no account to reply with"
    comments = connector.fetch(REDDIT_QUERY, search.next_cursor)
    assert comments.mentions and {m.raw["source"] for m in comments.mentions} == {"comments"}
    assert comments.has_more, "mentions is still pending in this round"
    with pytest.raises(ConnectorError) as caught:
        connector.fetch(REDDIT_QUERY, comments.next_cursor)
    resume = caught.value.resume
    assert resume is not None and resume.mentions == [] and not resume.has_more
    assert (resume.source_error or "").startswith(NEEDS_ACCOUNT), resume.source_error
    assert "MENTIONDESK_REDDIT_USERNAME" in str(caught.value)
    cursor = json.loads(resume.next_cursor or "{}")
    assert cursor["search"] and cursor["comments"] and cursor["mentions"] is None


def test_poll_stores_search_and_comments_reports_mentions_and_does_not_back_off(
        sqlite_db: Database, emulators: RunningEmulators) -> None:
    config = _config(sqlite_db, emulators)
    first = poll_once(sqlite_db, config)[0]
    assert first.stored > 0, first.error
    assert NEEDS_ACCOUNT in (first.error or ""), first.error
    status = connector_status(sqlite_db, "reddit")
    assert status is not None and status.backoff_until is None, "search and comments succeeded"
    assert NEEDS_ACCOUNT in (status.last_error or "")
    # The next round reads on past the failing source and reports it again.
    later = emulators.reddit.add_submission(f"{DEMO_BRAND} support sorted my refund in a day")
    second = poll_once(sqlite_db, config)[0]
    assert NEEDS_ACCOUNT in (second.error or ""), second.error
    assert later in stored_ids(sqlite_db, "reddit")
    assert connector_status(sqlite_db, "reddit").backoff_until is None


def test_a_handle_that_is_not_the_logged_in_account_fails_only_the_mentions_source(
        emulators: RunningEmulators) -> None:
    connector = reddit_connector(emulators, page_size=100)
    query = Query(key="orbisto", brand=DEMO_BRAND, keywords=(DEMO_BRAND,), handle="someone_else")
    search = connector.fetch(query, None)
    assert search.mentions and search.has_more
    with pytest.raises(ConnectorError, match="not the account the secrets log in as") as caught:
        connector.fetch(query, search.next_cursor)
    assert (caught.value.resume and caught.value.resume.source_error or "").startswith("mentions: ")
