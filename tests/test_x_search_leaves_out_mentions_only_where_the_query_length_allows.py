"""Search leaves posts that @mention the brand to the mentions timeline by adding -@handle to its query,
but not where that would take the query past X's length limit: X refuses such a query (400) on every poll,
which would stop the brand's keyword search. There the @mentions are read by both sources, as before."""

from __future__ import annotations

from connectors.base import Query
from connectors.emulators import DEMO_BRAND, DEMO_X_HANDLE, RunningEmulators
from connectors.x import MAX_SEARCH_QUERY_CHARS, build_search_query
from tests.emulator_fixtures import X_QUERY, x_connector
from tests.test_x_direct_mentions_are_read_and_billed_once import _read_count
from tests.test_x_search_without_the_brand_account import _round


def test_a_brand_whose_keywords_fill_the_query_length_limit_keeps_its_search(emulators: RunningEmulators) -> None:
    """Where -@handle would take the query past X's limit it is left out: a query X refuses stops the search."""
    x = emulators.x
    settings = x_connector(emulators).settings
    room = MAX_SEARCH_QUERY_CHARS - len(build_search_query(X_QUERY, settings))
    products = tuple(f"orbisto{i:02}" for i in range(room // len(" OR orbisto00")))  # up to the limit
    query = Query(key="orbisto", brand=DEMO_BRAND, keywords=(DEMO_BRAND, *products), handle=DEMO_X_HANDLE)
    text = build_search_query(query, settings, mentions_read_elsewhere=True)
    assert f"-@{DEMO_X_HANDLE}" not in text and len(text) + len(f" -@{DEMO_X_HANDLE}") > MAX_SEARCH_QUERY_CHARS

    connector = x_connector(emulators, page_size=100)
    pages, _ = _round(connector, query, None)
    named = x.add_post(f"thinking about trying {DEMO_BRAND}")
    direct = x.add_post(f"@{DEMO_X_HANDLE} where is my refund")
    pages, errors = _round(connector, query, pages[-1].next_cursor)
    assert errors == [] and {named, direct} <= set(_read_count(pages))
