"""Search leaves the posts that @mention the brand (-@handle) to the brand account's mentions timeline only
while that timeline reads: once a read of it fails (a 403 after a tier change, a token that lost its access),
search reads them again, the ones that arrived since the timeline's last good read included. Until 2026-12-07
search left them out for good once the timeline had been read, so a timeline failing from then on meant the
brand's @mentions were read by neither source. When the timeline reads again it reads everything it missed,
and search leaves the @mentions to it again."""

from __future__ import annotations

from collections.abc import Callable

from connectors.base import FetchResult
from connectors.emulators import DEMO_BRAND, DEMO_X_HANDLE, RunningEmulators
from connectors.emulators.server import Request, Response
from connectors.x import XConnector
from tests.emulator_fixtures import X_QUERY, x_connector
from tests.fault_tools import rewrite_answers
from tests.test_x_direct_mentions_are_read_and_billed_once import _read_count
from tests.test_x_search_without_the_brand_account import _round


def _timeline_that_fails(emulators: RunningEmulators) -> Callable[[bool], None]:
    """Makes the mentions timeline answer 403 (as after a tier change) while switched down."""
    down = False

    def mentions_refused(request: Request, response: Response) -> Response:
        if down and request.path.endswith("/mentions"):
            return Response(403, {"title": "Forbidden", "detail": "not permitted on this access level"})
        return response

    rewrite_answers(emulators.x_server, mentions_refused)

    def switch(is_down: bool) -> None:
        nonlocal down
        down = is_down
    return switch


def _read_by(pages: list[FetchResult], source: str) -> set[str]:
    return {m.external_id for p in pages for m in p.mentions if m.raw["source"] == source}


def _caught_up(connector: XConnector) -> str | None:
    """The cursor after a first round and a good one: the mentions timeline read, search leaving @mentions to it."""
    pages, _ = _round(connector, X_QUERY, None)
    pages, errors = _round(connector, X_QUERY, pages[-1].next_cursor)
    assert errors == []
    return pages[-1].next_cursor


def test_mentions_timeline_failing_for_good_leaves_no_mention_unread(emulators: RunningEmulators) -> None:
    x = emulators.x
    set_down = _timeline_that_fails(emulators)
    connector = x_connector(emulators, page_size=10)
    cursor = _caught_up(connector)

    set_down(True)
    # Posted before the round in which the timeline first fails: that round's search still leaves them out,
    # and reads a newer post that names the brand, moving its since_id past them.
    first = [x.add_post(f"@{DEMO_X_HANDLE} charged twice #{i}", username=f"payer{i}") for i in range(3)]
    named = x.add_post(f"anyone else using {DEMO_BRAND}?")
    read: list[FetchResult] = []
    for _ in range(2):
        pages, errors = _round(connector, X_QUERY, cursor)
        assert [e.split(":")[0] for e in errors] == ["mentions"]
        read += pages
        cursor = pages[-1].next_cursor
    assert set(first) <= _read_by(read, "search") and named in _read_by(read, "search")

    later = [x.add_post(f"@{DEMO_X_HANDLE} still charged twice #{i}", username=f"payer{i}") for i in range(2)]
    pages, errors = _round(connector, X_QUERY, cursor)
    assert [e.split(":")[0] for e in errors] == ["mentions"]
    assert _read_count(pages) == {post: 1 for post in later}  # search reads each new one, once


def test_mentions_timeline_back_reads_what_it_missed_and_search_leaves_mentions_to_it_again(
        emulators: RunningEmulators) -> None:
    x = emulators.x
    set_down = _timeline_that_fails(emulators)
    connector = x_connector(emulators, page_size=10)
    cursor = _caught_up(connector)

    set_down(True)
    missed = x.add_post(f"@{DEMO_X_HANDLE} is billing down?", username="early")
    pages, errors = _round(connector, X_QUERY, cursor)  # search still leaves it out: the timeline read last round
    assert [e.split(":")[0] for e in errors] == ["mentions"] and missed not in _read_count(pages)
    while_down = x.add_post(f"@{DEMO_X_HANDLE} my invoice is wrong", username="later")
    pages, errors = _round(connector, X_QUERY, pages[-1].next_cursor)
    assert {missed, while_down} <= _read_by(pages, "search")

    set_down(False)
    back = x.add_post(f"@{DEMO_X_HANDLE} thanks, works again", username="fan")
    pages, errors = _round(connector, X_QUERY, pages[-1].next_cursor)
    assert errors == [] and {missed, while_down, back} <= _read_by(pages, "mentions")

    again = [x.add_post(f"@{DEMO_X_HANDLE} question #{i}", username=f"asker{i}") for i in range(3)]
    pages, errors = _round(connector, X_QUERY, pages[-1].next_cursor)
    assert errors == [] and _read_count(pages) == {post: 1 for post in again}
    assert _read_by(pages, "mentions") == set(again) and sum(p.units_used for p in pages) == 3
