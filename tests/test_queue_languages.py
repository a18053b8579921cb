"""The queue's language filter: a language takes in its regional variants, as platforms tag them."""

from __future__ import annotations

from monitor import queue
from monitor.queue import QueueFilters
from monitor.storage import Database
from tests.test_dashboard_fixtures import add_mention


def _matching(db: Database, *langs: str) -> set[int]:
    with db.read() as session:
        return {m.id for m in queue.fetch_page(session, QueueFilters(langs=langs)).items}


def test_a_language_finds_its_regional_variants(db: Database) -> None:
    # Bluesky and RSS send region tags: a Brazilian post is stored as "pt-br".
    portugal = add_mention(db, lang="pt")
    brazil = add_mention(db, lang="pt-br")
    english = add_mention(db, lang="en-us")
    add_mention(db, lang="ptu")  # another language whose code starts alike
    add_mention(db, lang=None)
    assert _matching(db, "pt") == {portugal, brazil}
    assert _matching(db, "pt-br") == {brazil}
    assert _matching(db, "en", "pt") == {english, portugal, brazil}
    assert _matching(db, "es") == set()
    with db.read() as session:
        assert queue.count(session, QueueFilters(langs=("pt",))) == (2, False)
