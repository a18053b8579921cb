"""A bare "*" in a [triage] list matches any word and is refused; a full-width "＊" or small "﹡", which the rules
fold to "*", is refused too (it once passed and made every mention a question)."""
from __future__ import annotations

import pytest

from sentiment.errors import TriageConfigError
from sentiment.triage import TriageRules


@pytest.mark.parametrize("entry", ["＊", "﹡", " ＊ ", "＊＊", "\u3000*"])
@pytest.mark.parametrize("key", ["greetings", "question_phrases", "question_words_anywhere", "complaint_keywords"])
def test_an_entry_that_folds_to_a_bare_star_is_refused(key: str, entry: str) -> None:
    with pytest.raises(TriageConfigError, match="without a word"):
        TriageRules.from_dict({key: ["why", entry]})


def test_a_full_width_stem_is_kept() -> None:
    assert TriageRules.from_dict({"complaint_keywords": ["ｒｅｆｕｎｄ＊"]}).complaint_keywords == ("refund*",)
