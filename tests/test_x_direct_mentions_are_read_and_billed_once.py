"""A post that @mentions the brand is read, and billed, once a round: the brand account's mentions timeline
reads it, and the keyword search leaves it out (-@handle) while that timeline reads every new one. X's keyword
match finds "orbisto" in "@orbisto": until 2026-12-07 search read each such post again, so a brand paid twice
for its most important posts and its daily read cap ran out twice as fast. Posts that only name or quote the
brand are still found by search; while the account cannot be looked up, search still reads the @mentions."""

from __future__ import annotations

from collections import Counter

from connectors.base import FetchResult
from connectors.emulators import DEMO_BRAND, DEMO_X_HANDLE, RunningEmulators
from connectors.emulators.server import Request, Response
from tests.emulator_fixtures import X_QUERY, drain, x_connector
from tests.fault_tools import rewrite_answers
from tests.test_x_search_without_the_brand_account import LOOKUP, _round


def _read_count(pages: list[FetchResult]) -> Counter[str]:
    """How many times each post was read in these pages."""
    return Counter(m.external_id for page in pages for m in page.mentions)


def test_a_round_of_new_mentions_bills_each_post_once_and_search_still_finds_names_and_quotes(
        emulators: RunningEmulators) -> None:
    x = emulators.x
    connector = x_connector(emulators, page_size=100)
    _, cursor, _ = drain(connector, X_QUERY, None)  # the first poll catches up

    direct = [x.add_post(f"@{DEMO_X_HANDLE} my order #{i} never arrived", username=f"customer{i}") for i in range(10)]
    named = x.add_post(f"thinking about trying {DEMO_BRAND}")
    quoted = x.add_post(f"{DEMO_BRAND} finally shipped it", quote_brand=True)
    _, _, pages = drain(connector, X_QUERY, cursor)

    reads = _read_count(pages)
    assert reads == {post: 1 for post in [*direct, named, quoted]}
    sources = {m.external_id: m.raw["source"] for page in pages for m in page.mentions}
    assert {sources[p] for p in direct} == {"mentions"} and sources[named] == sources[quoted] == "search"
    replyable = {m.external_id: m.replyable for page in pages for m in page.mentions}
    assert all(replyable[p] for p in direct) and replyable[quoted] and not replyable[named]
    # 12 posts, and the brand's post the quote quotes (X bills referenced posts too).
    assert sum(p.units_used for p in pages) == 13


def test_while_the_account_cannot_be_looked_up_search_reads_the_mentions_and_none_is_missed_after(
        emulators: RunningEmulators) -> None:
    x = emulators.x
    lookup_down = True

    def lookup_fails(request: Request, response: Response) -> Response:
        if lookup_down and LOOKUP in request.path:
            return Response(503, {"title": "Service Unavailable"})
        return response

    rewrite_answers(emulators.x_server, lookup_fails)
    connector = x_connector(emulators, page_size=10)
    pages, _ = _round(connector, X_QUERY, None)
    while_down = [x.add_post(f"@{DEMO_X_HANDLE} is the app down? #{i}", username=f"user{i}") for i in range(3)]
    pages, errors = _round(connector, X_QUERY, pages[-1].next_cursor)
    assert [e.split(":")[0] for e in errors] == ["mentions"]
    assert set(while_down) <= {m.external_id for p in pages for m in p.mentions if m.raw["source"] == "search"}

    # More @mentions than the mentions timeline's first poll reads (one page of 10): search, still
    # reading them until that timeline has been read once, misses none.
    lookup_down = False
    back = [x.add_post(f"@{DEMO_X_HANDLE} thanks for fixing it #{i}", username=f"fan{i}") for i in range(15)]
    pages, errors = _round(connector, X_QUERY, pages[-1].next_cursor)
    assert errors == [] and set(back) <= set(_read_count(pages))

    later = [x.add_post(f"@{DEMO_X_HANDLE} question #{i}", username=f"asker{i}") for i in range(5)]
    pages, errors = _round(connector, X_QUERY, pages[-1].next_cursor)
    assert errors == [] and _read_count(pages) == {post: 1 for post in later}
    assert sum(p.units_used for p in pages) == 5
