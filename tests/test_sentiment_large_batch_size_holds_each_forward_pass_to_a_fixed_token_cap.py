"""A large `[sentiment] batch_size` (up to 1024) no longer grows each forward pass past a fixed number of
padded tokens (a bf16 worker at 1024 peaked at 1,098 MB, past the 1 GB promise): the texts are cut into more
passes instead, each text read exactly once. Batch sizes up to 256 cut as before."""

from __future__ import annotations

import random
from collections.abc import Sequence
from types import SimpleNamespace

import pytest
import torch

from sentiment.encoder import TOKENS_PER_ROW, E5Encoder, full_batches, least_padded_batches
from sentiment.tokenizer import padded_width

CAP_TOKENS = 256 * TOKENS_PER_ROW  # what batch_size 256 always allowed a forward pass
PAD_MULTIPLE = 8


def _pad(ids: Sequence[Sequence[int]], pad_to_multiple_of: int | None = None) -> dict[str, torch.Tensor]:
    """The tokenizer's padding, in shape only: no model is loaded."""
    width = padded_width(max(map(len, ids)), pad_to_multiple_of)
    return {"input_ids": torch.zeros((len(ids), width), dtype=torch.long)}


def _passes(ids: list[list[int]], batch_size: int, cut: object) -> list[tuple[list[int], tuple[int, ...]]]:
    """(text indices, input shape) of each forward pass the encoder would run."""
    encoder = SimpleNamespace(tokenizer=SimpleNamespace(pad=_pad), pad_multiple=PAD_MULTIPLE, cut_batches=cut)
    return [(idx, tuple(enc["input_ids"].shape)) for idx, enc in E5Encoder.batches_of_ids(encoder, ids, batch_size)]


def _tweets_and_posts(count: int) -> list[list[int]]:
    rng = random.Random(3)
    return [[1] * rng.choice([rng.randint(8, 60), rng.randint(60, 128)]) for _ in range(count)]


@pytest.mark.parametrize("cut", [full_batches, least_padded_batches], ids=["pytorch", "int8"])
@pytest.mark.parametrize("batch_size", [512, 1024])
def test_a_large_batch_size_holds_each_pass_to_the_token_cap(cut: object, batch_size: int) -> None:
    ids = _tweets_and_posts(2 * batch_size)
    passes = _passes(ids, batch_size, cut)
    assert sorted(i for idx, _ in passes for i in idx) == list(range(len(ids)))  # each text once
    assert all(rows * width <= CAP_TOKENS for _, (rows, width) in passes), max(r * w for _, (r, w) in passes)
    assert all(rows <= batch_size for _, (rows, _) in passes)


@pytest.mark.parametrize("cut", [full_batches, least_padded_batches], ids=["pytorch", "int8"])
@pytest.mark.parametrize("batch_size", [1, 64, 256])
def test_batch_sizes_up_to_256_cut_as_before(cut: object, batch_size: int) -> None:
    ids = _tweets_and_posts(3 * batch_size)
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
    widths = [padded_width(len(ids[i]), PAD_MULTIPLE) for i in order]
    expected = [order[start:end] for start, end in cut(widths, batch_size, batch_size * TOKENS_PER_ROW)]
    assert [idx for idx, _ in _passes(ids, batch_size, cut)] == expected
