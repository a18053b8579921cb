"""Search finds a Greek word whatever its case, on PostgreSQL too, where lower() never gives the final sigma:
"αμέσως" did not find "ΑΜΈΣΩΣ" (it reads as "αμέσωσ"), nor "ΠΑΡΆΔΟΣΗΣ" "παράδοσης"."""

from __future__ import annotations

import pytest

from monitor import queue
from monitor.storage import Database
from tests.test_dashboard_fixtures import add_mention
from tests.test_queue_search_case import matching_ids


@pytest.mark.parametrize("common", [False, True], ids=["rare term", "common term"])
def test_a_final_sigma_matches_a_capital_one_and_nothing_else(db: Database, monkeypatch: pytest.MonkeyPatch,
                                                              common: bool) -> None:
    shouted = add_mention(db, text="ΑΠΆΤΗ! ΤΑ ΧΡΉΜΑΤΆ ΜΟΥ ΠΊΣΩ ΑΜΈΣΩΣ")
    late = add_mention(db, text="Καθυστέρηση παράδοσης", author_handle="ΝΊΚΟΣ")
    other = add_mention(db, text="αμέσωx παράδοξη")  # another letter where "αμέσως" has its sigma
    if common:
        monkeypatch.setattr(queue, "FTS_DRIVE_LIMIT", 0)
    expected = {"αμέσως": [shouted], "ΑΜΈΣΩΣ": [shouted], "ΠΑΡΆΔΟΣΗΣ": [late], "παράδοσησ": [late],
                "νίκος": [late], "ς": [shouted, late, other]}  # each has a sigma
    assert {needle: matching_ids(db, needle) for needle in expected} == expected
    assert other not in matching_ids(db, "αμέσως")
