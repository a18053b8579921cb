"""The brand's keyword search does not need its X account: a handle that cannot be looked up (wrong,
renamed, suspended, or X not answering the lookup) fails the mentions timeline only, with the lookup's
error, while search reads on, its quote check unknown. Looking the account up costs no more requests."""

from __future__ import annotations

import json
from typing import Any

from connectors.base import ConnectorError, FetchResult, Query
from connectors.emulators import DEMO_BRAND, DEMO_X_HANDLE, RunningEmulators
from connectors.emulators.server import Request, Response
from tests.emulator_fixtures import x_connector
from tests.fault_tools import record_requests, rewrite_answers

LOOKUP = "/2/users/by/username/"


def _round(connector: Any, query: Query, cursor: str | None) -> tuple[list[FetchResult], list[str]]:
    """One round as the poller reads it: each page, or a failed source's resume page, and the errors."""
    pages: list[FetchResult] = []
    errors: list[str] = []
    for _ in range(50):
        try:
            page = connector.fetch(query, cursor)
        except ConnectorError as exc:
            assert exc.resume is not None, f"the whole connector failed: {exc}"
            page = exc.resume
            errors.append(exc.resume.source_error or "")
        pages.append(page)
        cursor = page.next_cursor
        if not page.has_more:
            break
    return pages, errors


def _search_ids(pages: list[FetchResult]) -> list[str]:
    return [m.external_id for p in pages for m in p.mentions if m.raw["source"] == "search"]


def test_a_handle_with_no_account_fails_mentions_only_and_search_reads_on(emulators: RunningEmulators) -> None:
    good = Query(key="orbisto", brand=DEMO_BRAND, keywords=(DEMO_BRAND,), handle=DEMO_X_HANDLE)
    wrong = Query(key="orbisto", brand=DEMO_BRAND, keywords=(DEMO_BRAND,), handle="orbisto_typo")
    expected = _search_ids(_round(x_connector(emulators, page_size=10), good, None)[0])
    assert expected

    pages, errors = _round(x_connector(emulators, page_size=10), wrong, None)
    assert _search_ids(pages) == expected
    assert errors == ["mentions: X has no account @orbisto_typo (check the brand's x handle)"]


def test_a_failing_lookup_leaves_the_quote_check_unknown_not_the_search(emulators: RunningEmulators) -> None:
    x = emulators.x
    mentioned = x.add_post("@orbisto my invoice is wrong")
    quoted = x.add_post("Orbisto finally shipped it", quote_brand=True)
    plain = x.add_post("thinking about trying Orbisto")

    def lookup_fails(request: Request, response: Response) -> Response:
        if LOOKUP in request.path:
            return Response(503, {"title": "Service Unavailable"})
        return response

    rewrite_answers(emulators.x_server, lookup_fails)
    query = Query(key="orbisto", brand=DEMO_BRAND, keywords=(DEMO_BRAND,), handle=DEMO_X_HANDLE)
    connector = x_connector(emulators, page_size=10, mentions=False)  # search only: no mentions to fail
    pages, errors = _round(connector, query, None)
    assert errors == []
    flags = {m.external_id: m.replyable for p in pages for m in p.mentions}
    # The @mention is still seen in the text; whom the quote quotes is not known without the account id.
    assert flags[mentioned] is True and flags[quoted] is False and flags[plain] is False
    state = json.loads(pages[-1].next_cursor or "{}")
    assert state["brand_user_id"] is None and state["brand_handle"] is None  # tried again next round


def test_a_failing_lookup_is_tried_once_per_source_and_round_and_a_found_one_never_again(
        emulators: RunningEmulators) -> None:
    log = record_requests(emulators)
    wrong = Query(key="orbisto", brand=DEMO_BRAND, keywords=(DEMO_BRAND,), handle="orbisto_typo")
    connector = x_connector(emulators, page_size=10, first_run_pages=3)
    pages, errors = _round(connector, wrong, None)
    assert len(_search_ids(pages)) > 10  # search read several pages
    assert [e for e in errors if e.startswith("mentions:")] == errors and len(errors) == 1
    assert sum(LOOKUP in r.path for r in log.entries) <= 2  # search once at its start, mentions once

    log.entries.clear()
    good = Query(key="orbisto", brand=DEMO_BRAND, keywords=(DEMO_BRAND,), handle=DEMO_X_HANDLE)
    cursor = pages[-1].next_cursor
    for _ in range(2):
        pages, errors = _round(connector, good, cursor)
        assert errors == []
        cursor = pages[-1].next_cursor
    assert sum(LOOKUP in r.path for r in log.entries) == 1  # found once, then read from the cursor
