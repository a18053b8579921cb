"""The assignee filter (and so *My open complaints*) finds a user's mentions whichever Unicode form their name was
stored in: assignees are stored in NFC since 2026-12-07, and a user stored before may be named "jose\u0301"."""

from __future__ import annotations

from monitor import queue
from monitor.queue import QueueFilters
from monitor.storage import Database
from tests.test_dashboard_fixtures import add_mention


def test_an_assignee_filter_in_either_form_finds_both(db: Database) -> None:
    before = add_mention(db, assignee="jose\u0301")  # assigned before names were normalised
    after = add_mention(db, assignee="jos\u00e9")  # assigned since, to the same user
    add_mention(db, assignee="jose")
    for name in ("jose\u0301", "jos\u00e9"):
        with db.read() as session:
            found = {m.id for m in queue.fetch_page(session, QueueFilters(assignee=name)).items}
        assert found == {before, after}, name
