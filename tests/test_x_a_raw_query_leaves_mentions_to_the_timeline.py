"""A raw X query (queries.x) with handles.x set leaves the posts that @mention the brand to the mentions
timeline, as a query built from keywords does: search sends "(<raw query>) -@handle" while that timeline
reads. Until 2026-12-07 the raw query was sent as it was, so every direct @mention it matched (README's own
example, '("acme" OR @acme) ...', matches them all) was read, and billed, by both sources every round.
Where the added term would take the query past X's length limit, the raw query is sent as it is."""

from __future__ import annotations

from connectors.base import Query
from connectors.emulators import DEMO_BRAND, DEMO_X_HANDLE, RunningEmulators
from connectors.x import MAX_SEARCH_QUERY_CHARS, build_search_query
from tests.emulator_fixtures import drain, x_connector
from tests.test_x_direct_mentions_are_read_and_billed_once import _read_count
from tests.test_x_search_without_the_brand_account import _round

# An OR at the top: the added term must apply to the whole query, not to its last alternative (X binds AND tighter).
RAW_QUERY = Query(key="orbisto", brand=DEMO_BRAND, raw=f'"{DEMO_BRAND}" OR @{DEMO_X_HANDLE}', handle=DEMO_X_HANDLE)


def test_a_raw_query_bills_each_direct_mention_once_and_still_finds_names_and_quotes(
        emulators: RunningEmulators) -> None:
    x = emulators.x
    connector = x_connector(emulators, page_size=100)
    _, cursor, _ = drain(connector, RAW_QUERY, None)
    _, cursor, _ = drain(connector, RAW_QUERY, cursor)  # the timeline's first walk has ended

    direct = [x.add_post(f"@{DEMO_X_HANDLE} my order #{i} never arrived", username=f"customer{i}") for i in range(5)]
    named = x.add_post(f"thinking about trying {DEMO_BRAND}")
    quoted = x.add_post(f"{DEMO_BRAND} finally shipped it", quote_brand=True)
    _, _, pages = drain(connector, RAW_QUERY, cursor)

    assert _read_count(pages) == {post: 1 for post in [*direct, named, quoted]}
    sources = {m.external_id: m.raw["source"] for page in pages for m in page.mentions}
    assert {sources[p] for p in direct} == {"mentions"} and sources[named] == sources[quoted] == "search"
    assert sum(p.units_used for p in pages) == 8  # 7 posts and the brand's post the quote quotes


def test_a_raw_query_at_the_length_limit_is_sent_as_it_is(emulators: RunningEmulators) -> None:
    x = emulators.x
    settings = x_connector(emulators).settings
    room = MAX_SEARCH_QUERY_CHARS - len(build_search_query(RAW_QUERY, settings, mentions_read_elsewhere=True))
    products = [f"{DEMO_BRAND}{i:03}" for i in range(room // len(" OR orbisto000") + 1)]  # just past the room
    raw = " OR ".join([RAW_QUERY.raw or "", *products])
    query = Query(key="orbisto", brand=DEMO_BRAND, raw=raw, handle=DEMO_X_HANDLE)
    assert len(raw) <= MAX_SEARCH_QUERY_CHARS
    assert build_search_query(query, settings, mentions_read_elsewhere=True) == raw

    connector = x_connector(emulators, page_size=100)
    pages, _ = _round(connector, query, None)
    pages, _ = _round(connector, query, pages[-1].next_cursor)
    named = x.add_post(f"thinking about trying {DEMO_BRAND}")
    direct = x.add_post(f"@{DEMO_X_HANDLE} where is my refund")
    pages, errors = _round(connector, query, pages[-1].next_cursor)
    assert errors == [] and {named, direct} <= set(_read_count(pages))
