"""Search folds case as PostgreSQL's lower() does on SQLite too: its trigram index keeps ~390 letters apart
from their capitals (Turkish İ, Georgian capitals, Cherokee), so "iade" missed an all-capitals "İADE"."""

from __future__ import annotations

import pytest

from monitor import queue
from monitor.search_text import MAX_PHRASES, fts_phrases
from monitor.storage import Database
from tests.test_dashboard_fixtures import add_mention
from tests.test_queue_search_case import matching_ids


@pytest.mark.parametrize("common", [False, True], ids=["rare term", "common term"])
def test_turkish_georgian_and_cherokee_capitals_are_found_in_either_case(db: Database, monkeypatch: pytest.MonkeyPatch,
                                                                          common: bool) -> None:
    refund = add_mention(db, text="PARAMI İADE EDİN, hemen!")
    cancel = add_mention(db, text="iptal etmek istiyorum", author_handle="AYŞE_İLHAN")
    georgian = add_mention(db, text="ᲒᲐᲛᲐᲠᲯᲝᲑᲐ, ᲡᲐᲓ ᲐᲠᲘᲡ ᲩᲔᲛᲘ ᲨᲔᲙᲕᲔᲗᲐ?")  # capitals (Mtavruli)
    cherokee = add_mention(db, text="ᏏᏲ ᏍᎩᏲ")  # the capitals Cherokee is written in
    unrelated = add_mention(db, text="ıade")  # a dotless ı is another letter, in PostgreSQL too
    if common:
        monkeypatch.setattr(queue, "FTS_DRIVE_LIMIT", 0)
    expected = {"iade": [refund], "İade": [refund], "edin": [refund], "İPTAL": [cancel], "ayşe_i": [cancel],
                "გამარჯობა": [georgian], "ჩემი": [georgian], "ᏏᏲ": [cherokee], "ꮟᏺ": [cherokee],
                "ıade": [unrelated]}
    assert {needle: matching_ids(db, needle) for needle in expected} == expected


def test_a_long_term_asks_the_index_for_its_start_in_every_spelling() -> None:
    assert fts_phrases("iade") == ('"iade" OR "İade"', True)
    assert fts_phrases('ab"c') == ('"ab""c"', True)
    spellings, exact = fts_phrases("გამარჯობა")  # nine Georgian letters, each with a capital kept apart
    assert len(spellings.split(" OR ")) == MAX_PHRASES and '"ᲒᲐᲛᲐᲠ"' in spellings and not exact
