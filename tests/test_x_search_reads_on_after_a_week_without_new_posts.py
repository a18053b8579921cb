"""X recent search holds 7 days and refuses (400) a since_id older than that. since_id moves only when a walk
sees a newer post, so a quiet brand, or a worker off for a week, had its keyword search fail every round for
good. A walk whose since_id has left the window now reads from the window's start instead: all that X still
holds, none of it read (and billed) twice."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest
import requests

from connectors.base import Query
from connectors.emulators import DEMO_SECRETS, DEMO_X_HANDLE, RunningEmulators, start_emulators
from connectors.emulators.x_api import posted_at, snowflake
from tests.emulator_fixtures import X_QUERY, drain, x_connector
from tests.fault_tools import RequestLog, rewrite_answers

X_AUTH = {"Authorization": f"Bearer {DEMO_SECRETS['x']['bearer_token']}"}
A_WEEK_AND_A_DAY_AGO = snowflake(datetime.now(timezone.utc) - timedelta(days=8), 1)


@pytest.fixture(name="recent")
def emulators_with_a_recent_backlog() -> Iterator[RunningEmulators]:
    """A backlog from the last hour: inside X's search window, as on any live day."""
    with start_emulators(seed=7, backlog=30, backlog_end=datetime.now(timezone.utc)) as running:
        yield running


def _search(running: RunningEmulators, **params: str) -> requests.Response:
    return requests.get(f"{running.x_url}/2/tweets/search/recent", params={"query": "Orbisto", **params},
                        headers=X_AUTH, timeout=5)


def _cursor(**search: object) -> str:
    return json.dumps({"pending": [], "search": {"since_id": str(A_WEEK_AND_A_DAY_AGO), **search}, "mentions": {}})


def _searches(log: RequestLog) -> list[dict[str, str]]:
    return [entry.query for entry in log.entries if entry.path.endswith("/search/recent")]


def _too_old(since_id: str) -> bool:
    """Posted over 7 days ago, by the time in its id."""
    return posted_at(int(since_id)) < datetime.now(timezone.utc) - timedelta(days=7)


def test_x_recent_search_refuses_a_since_id_or_start_time_older_than_its_seven_days(recent: RunningEmulators) -> None:
    old_since = _search(recent, since_id=str(A_WEEK_AND_A_DAY_AGO))
    assert old_since.status_code == 400
    assert "'since_id' must be a tweet id created after" in old_since.json()["errors"][0]["message"]
    old_start = _search(recent, start_time=f"{datetime.now(timezone.utc) - timedelta(days=8):%Y-%m-%dT%H:%M:%SZ}")
    assert old_start.status_code == 400
    assert "'start_time' must be on or after" in old_start.json()["errors"][0]["message"]
    six_days = _search(recent, since_id=str(snowflake(datetime.now(timezone.utc) - timedelta(days=6), 1)))
    assert six_days.status_code == 200 and six_days.json()["meta"]["result_count"] == 10
    newest = recent.x.add_post("Orbisto, where is my order?", username="start_time_sam")
    last_minute = _search(recent, start_time=f"{datetime.now(timezone.utc) - timedelta(minutes=1):%Y-%m-%dT%H:%M:%SZ}")
    assert [t["id"] for t in last_minute.json()["data"]] == [newest]


def test_a_search_whose_since_id_left_the_window_reads_all_that_x_still_holds_once(recent: RunningEmulators) -> None:
    held = {m.external_id for m in drain(x_connector(recent, page_size=10, first_run_pages=50, mentions=False),
                                         X_QUERY, None)[0]}
    log = rewrite_answers(recent.x_server)
    connector = x_connector(recent, page_size=10, mentions=False)
    new = recent.x.add_post("Orbisto support is ignoring me, order 123 missing", username="new_customer")
    mentions, cursor, pages = drain(connector, X_QUERY, _cursor())
    assert {m.external_id for m in mentions} == held | {new}  # every post X holds, each once
    assert len(mentions) == len(held) + 1 and len(pages) > 1  # a walk of several pages
    assert all(entry.status == 200 for entry in log.entries)
    assert not any("since_id" in q and _too_old(q["since_id"]) for q in _searches(log)), "X refuses these"
    assert json.loads(cursor or "{}")["search"]["since_id"] == new
    # Back inside the window: the next round asks for what is newer than since_id, and reads only that.
    newer = recent.x.add_post("Orbisto still no answer", username="new_customer")
    log.entries.clear()
    mentions, cursor, pages = drain(connector, X_QUERY, cursor)
    assert [m.external_id for m in mentions] == [newer] and sum(p.units_used for p in pages) == 1
    assert [q.get("since_id") for q in _searches(log)] == [new] and "start_time" not in _searches(log)[0]


def test_a_quiet_brands_search_keeps_reading_without_a_new_post_for_a_week(recent: RunningEmulators) -> None:
    quiet = Query(key="quiet", brand="Zyxwvut", keywords=("Zyxwvut",), handle=DEMO_X_HANDLE)
    connector = x_connector(recent, page_size=10, mentions=False)
    cursor: str | None = _cursor()
    for _ in range(2):  # round after round, nothing new: no error, since_id kept
        mentions, cursor, _ = drain(connector, quiet, cursor)
        assert mentions == [] and json.loads(cursor or "{}")["search"]["since_id"] == str(A_WEEK_AND_A_DAY_AGO)
    post = recent.x.add_post("Zyxwvut finally shipped my parcel", username="patient_pia")
    mentions, cursor, _ = drain(connector, quiet, cursor)
    assert [m.external_id for m in mentions] == [post] and json.loads(cursor or "{}")["search"]["since_id"] == post


def test_a_walk_held_up_until_its_since_id_left_the_window_starts_again_inside_it(recent: RunningEmulators) -> None:
    first_page = _search(recent, max_results="10").json()["meta"]
    log = rewrite_answers(recent.x_server)
    connector = x_connector(recent, page_size=10, mentions=False)
    cursor = _cursor(next_token=first_page["next_token"], newest_seen=first_page["newest_id"], pages=1)
    page = connector.fetch(X_QUERY, cursor)
    refused, restarted = log.entries
    assert refused.status == 400 and "next_token" in refused.query
    assert restarted.status == 200 and "next_token" not in restarted.query and "since_id" not in restarted.query
    assert datetime.fromisoformat(restarted.query["start_time"]) > datetime.now(timezone.utc) - timedelta(days=7)
    walk = json.loads(page.next_cursor or "{}")["search"]
    assert page.mentions and walk["pages"] == 1 and walk["next_token"]
    assert walk["start_time"] == restarted.query["start_time"]  # the walk's later pages keep its lower bound
    _, cursor, _ = drain(connector, X_QUERY, page.next_cursor)
    assert not _too_old(json.loads(cursor or "{}")["search"]["since_id"])
