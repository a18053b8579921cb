"""Free-text search finds a term in any case, in any script, whichever way the queue looks it up."""

from __future__ import annotations

import pytest

from monitor import queue
from monitor.queue import QueueFilters
from monitor.storage import Database
from tests.test_dashboard_fixtures import add_mention


def matching_ids(db: Database, needle: str) -> list[int]:
    """The ids of the mentions a search for ``needle`` finds, in order."""
    with db.read() as session:
        return sorted(m.id for m in queue.fetch_page(session, QueueFilters(text=needle)).items)


@pytest.mark.parametrize("common", [False, True], ids=["rare term", "common term"])
def test_search_folds_the_case_of_any_script(db: Database, monkeypatch: pytest.MonkeyPatch, common: bool) -> None:
    update = add_mention(db, text="ÜBER das Update: es STÜRZT ab")
    omega = add_mention(db, text="Ωmega deal", author_handle="ΣΟΦΙΑ")
    oil = add_mention(db, text="ÖL")
    if common:
        # As if each term were in more mentions than the index should drive (SQLite then scans).
        monkeypatch.setattr(queue, "FTS_DRIVE_LIMIT", 0)
    # Two characters or fewer are too short for the indexes and are looked up another way on both databases.
    expected = {"über": [update], "stürzt": [update], "ωMEGA": [omega], "σοφια": [omega],
                "öl": [oil], "ö": [oil], "ü": [update], "ω": [omega]}
    assert {needle: matching_ids(db, needle) for needle in expected} == expected
