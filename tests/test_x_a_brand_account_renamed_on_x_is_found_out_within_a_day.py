"""The brand account's X id is looked up again a day after its last lookup, so an account renamed on X (same
id, new @handle) while handles.x still names the old handle is found out as a handle never found is: the
mentions source fails with "X has no account @…", and search reads the brand's @mentions itself. Until
2026-12-07 the id kept in the cursor was used for good: the timeline read on by id, search kept leaving out
(-@handle) the posts still written to the old @handle, read by neither source, and posts naming the brand
with the new @handle were read, and billed, by both; nothing was reported. An unchanged account costs one
lookup a day."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from connectors.emulators import DEMO_BRAND, DEMO_X_HANDLE, RunningEmulators
from tests.emulator_fixtures import X_QUERY, x_connector
from tests.fault_tools import record_requests
from tests.test_x_direct_mentions_are_read_and_billed_once import _read_count
from tests.test_x_mentions_are_read_by_search_while_the_mentions_timeline_fails import _caught_up
from tests.test_x_search_without_the_brand_account import LOOKUP, _round

NEW_HANDLE = "orbisto_help"
NO_ACCOUNT = f"mentions: X has no account @{DEMO_X_HANDLE} (check the brand's x handle)"


def _a_day_later(cursor: str | None) -> str:
    """The cursor as a poll over a day after its brand account lookup finds it."""
    state = json.loads(cursor or "{}")
    state["brand_looked_up_at"] = (datetime.now(timezone.utc) - timedelta(days=1, minutes=1)).isoformat()
    return json.dumps(state)


def test_a_renamed_account_fails_the_mentions_source_and_search_reads_every_post_once(
        emulators: RunningEmulators) -> None:
    x = emulators.x
    connector = x_connector(emulators, page_size=100)
    cursor = _caught_up(connector)

    x.rename_user(DEMO_X_HANDLE, NEW_HANDLE)
    old_handle = x.add_post(f"@{DEMO_X_HANDLE} {DEMO_BRAND} app is down for me, help!", username="old_habit")
    new_handle = x.add_post(f"@{NEW_HANDLE} {DEMO_BRAND} billing charged me twice", username="new_reader")
    pages, errors = _round(connector, X_QUERY, _a_day_later(cursor))
    assert errors == [NO_ACCOUNT]
    assert _read_count(pages) == {old_handle: 1, new_handle: 1}
    assert {m.raw["source"] for p in pages for m in p.mentions} == {"search"}

    later = x.add_post(f"@{DEMO_X_HANDLE} still down", username="old_habit")
    pages, errors = _round(connector, X_QUERY, pages[-1].next_cursor)
    assert errors == [NO_ACCOUNT] and _read_count(pages) == {later: 1}


def test_a_renamed_account_read_by_its_timeline_alone_is_reported(emulators: RunningEmulators) -> None:
    connector = x_connector(emulators, page_size=100, search=False)
    pages, _ = _round(connector, X_QUERY, None)
    emulators.x.rename_user(DEMO_X_HANDLE, NEW_HANDLE)
    pages, errors = _round(connector, X_QUERY, _a_day_later(pages[-1].next_cursor))
    assert errors == [NO_ACCOUNT]


def test_an_unchanged_account_is_looked_up_once_a_day_and_keeps_its_mentions_to_its_timeline(
        emulators: RunningEmulators) -> None:
    x = emulators.x
    log = record_requests(emulators)
    connector = x_connector(emulators, page_size=100)
    cursor = _caught_up(connector)

    log.entries.clear()
    pages, errors = _round(connector, X_QUERY, cursor)
    assert errors == [] and not any(LOOKUP in r.path for r in log.entries)

    direct = [x.add_post(f"@{DEMO_X_HANDLE} my order #{i} never arrived", username=f"customer{i}") for i in range(3)]
    pages, errors = _round(connector, X_QUERY, _a_day_later(pages[-1].next_cursor))
    assert errors == [] and sum(LOOKUP in r.path for r in log.entries) == 1
    assert _read_count(pages) == {post: 1 for post in direct} and sum(p.units_used for p in pages) == 3
