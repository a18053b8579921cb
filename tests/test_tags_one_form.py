"""Tags that look the same are one tag ("café" typed with the letter é or as e and U+0301), a tag holding a
character that shows nothing is refused (one of a zero-width space alone showed as a bare #), and
migration 0018 brings the tags stored before to that form."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from monitor import triage
from monitor.models import MentionTag
from monitor.queue import QueueFilters, fetch_page
from monitor.storage import Database
from tests.principals import ANA
from tests.test_dashboard_fixtures import add_mention

COMPOSED, DECOMPOSED = "Caf\u00e9", "Cafe\u0301"


def _tags(db: Database, mention_id: int) -> list[str]:
    with db.read() as session:
        return sorted(session.scalars(select(MentionTag.tag).where(MentionTag.mention_id == mention_id)))


def test_a_tag_typed_either_way_is_one_tag_that_the_filter_finds(sqlite_db: Database) -> None:
    first, second = add_mention(sqlite_db), add_mention(sqlite_db)
    assert triage.add_tag(sqlite_db, [first], COMPOSED, ANA).changed == [first]
    assert triage.add_tag(sqlite_db, [first, second], DECOMPOSED, ANA).skipped == {first: "already tagged caf\u00e9"}
    assert _tags(sqlite_db, first) == _tags(sqlite_db, second) == ["caf\u00e9"]
    with sqlite_db.read() as session:
        found = fetch_page(session, QueueFilters(tags=("caf\u00e9",))).items
    assert sorted(m.id for m in found) == [first, second]
    assert triage.remove_tag(sqlite_db, [first], DECOMPOSED, ANA).changed == [first]


@pytest.mark.parametrize("tag", ["\u200b", "\u2060\u200d", "caf\u00e9\u200b", "vip\u2800", "a\u202eb", "\u3164"])
def test_a_tag_holding_what_shows_nothing_is_refused(sqlite_db: Database, tag: str) -> None:
    mention = add_mention(sqlite_db)
    with pytest.raises(triage.TriageError, match="control or invisible characters"):
        triage.add_tag(sqlite_db, [mention], tag, ANA)
    assert _tags(sqlite_db, mention) == []


def test_an_emoji_tag_keeps_its_variation_selector(sqlite_db: Database) -> None:
    mention = add_mention(sqlite_db)
    assert triage.add_tag(sqlite_db, [mention], "\u2764\ufe0f", ANA).changed == [mention]
    assert _tags(sqlite_db, mention) == ["\u2764\ufe0f"]


def test_upgrading_stores_each_tag_in_one_form_without_what_shows_nothing(database_url: str) -> None:
    db = Database.open(database_url)
    db.upgrade("0017")
    both, hidden, blank, fine = (add_mention(db) for _ in range(4))
    with db.write() as session:
        # As add_tag stored them until 2026-12-07 (lower-cased, spaces folded, nothing else).
        session.add_all(MentionTag(mention_id=mention_id, tag=tag) for mention_id, tag in [
            (both, "caf\u00e9"), (both, "cafe\u0301"), (hidden, "cafe\u0301\u200b"), (hidden, "vip"),
            (blank, "\u200b"), (blank, "\u2060\u200d"), (fine, "\u2764\ufe0f"), (fine, "billing issue")])
    db.upgrade()
    assert _tags(db, both) == ["caf\u00e9"]
    assert _tags(db, hidden) == ["caf\u00e9", "vip"]
    assert _tags(db, blank) == []
    assert _tags(db, fine) == ["billing issue", "\u2764\ufe0f"]
    # Every stored tag is one triage can remove again.
    assert triage.remove_tag(db, [hidden], "caf\u00e9", ANA).changed == [hidden]
    db.dispose()
