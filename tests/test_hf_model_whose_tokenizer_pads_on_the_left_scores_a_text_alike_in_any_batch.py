"""A Hugging Face model whose tokenizer pads on the left (GPT-2 style ones are saved so) was given its batches padded
on the left with no position ids, so a shorter text was read at positions shifted by its padding: its scores, and
at times its label, changed with the longer texts batched with it. Batches are now padded on the right."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from sentiment import load_classifier  # noqa: E402
from tests.test_sentiment_hf import make_decoder_model, make_model  # noqa: E402

TEXTS = ["love it", "the service is awful", "hate"]


def _padding_on_the_left(folder: Path) -> Path:
    from transformers import AutoTokenizer

    AutoTokenizer.from_pretrained(folder, padding_side="left").save_pretrained(folder)
    assert AutoTokenizer.from_pretrained(folder).padding_side == "left"
    return folder


def _gpt2(folder: Path) -> Path:
    return make_decoder_model(folder, eos=True)


def _bert(folder: Path) -> Path:
    return make_model(folder, {0: "negative", 1: "neutral", 2: "positive"}, [0.0, 0.0, 0.0], readout=3.0)


@pytest.mark.parametrize("make", [_gpt2, _bert], ids=["gpt2", "bert"])
def test_a_text_scores_alike_alone_and_batched_with_longer_texts(tmp_path: Path,
                                                                 make: Callable[[Path], Path]) -> None:
    clf = load_classifier("hf", model=str(_padding_on_the_left(make(tmp_path / "model"))), threads=1,
                          precision="fp32")
    together = clf.probabilities(TEXTS, batch_size=len(TEXTS))
    alone = torch.cat([clf.probabilities([text]) for text in TEXTS])
    assert torch.allclose(together, alone, atol=1e-5), (together, alone)
