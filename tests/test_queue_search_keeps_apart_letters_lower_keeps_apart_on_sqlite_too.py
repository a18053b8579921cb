"""Search folds case as PostgreSQL's lower() does, on SQLite too: SQLite's trigram index also takes the micro sign
for the Greek mu, the long s for an s and Greek symbol forms for their letters, which lower() keeps apart, so until
2026-12-07 "500µm" and "500μm" each found both there, and only itself on PostgreSQL."""

from __future__ import annotations

import pytest

from monitor import queue
from monitor.storage import Database
from tests.test_dashboard_fixtures import add_mention
from tests.test_queue_search_case import matching_ids


@pytest.mark.parametrize("common", [False, True], ids=["rare term", "common term"])
def test_micro_sign_long_s_and_greek_symbols_find_only_themselves(db: Database, monkeypatch: pytest.MonkeyPatch,
                                                                  common: bool) -> None:
    micro = add_mention(db, text="the 500µm filter arrived cracked")  # U+00B5 MICRO SIGN
    mu = add_mention(db, text="the 500μm FILTER (Greek mu)")  # U+03BC
    long_s = add_mention(db, text="Geſetz über Versand", author_handle=None, author_name="Druckerei")
    plain_s = add_mention(db, text="GESETZ über Versand")
    phi = add_mention(db, text="ϕ-Tech hat geliefert")  # U+03D5 GREEK PHI SYMBOL
    if common:
        monkeypatch.setattr(queue, "FTS_DRIVE_LIMIT", 0)  # as if each term were in very many mentions
    expected = {"500µm": [micro], "500μm": [mu], "500ΜM": [mu], "µm filter": [micro],
                "Geſetz": [long_s], "gesetz": [plain_s], "ϕ-tech": [phi], "φ-tech": [],
                "µ": [micro], "μ": [mu]}  # one character: looked up without the index
    assert {needle: matching_ids(db, needle) for needle in expected} == expected
