"""bench/sentiment.py --n below the batch of 64 times the model: its warm-up before each timed pass gave 64
languages for the fewer texts there were, and the bench crashed ("got 10 texts but 64 langs") after minutes of
work."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from bench.sentiment import model_pass
from sentiment.api import SentimentClassifier
from sentiment.labels import LABELS


class _Neutral(SentimentClassifier):
    """The real `classify` (which checks a language is given per text) over a model that says neutral."""

    def __init__(self) -> None:
        self.texts_read: list[int] = []

    def probabilities(self, texts: Sequence[str], batch_size: int = 64) -> torch.Tensor:
        self.texts_read.append(len(texts))
        return torch.full((len(texts), len(LABELS)), 1 / len(LABELS))


def test_warm_up_and_timed_pass_take_fewer_texts_than_a_batch() -> None:
    classifier = _Neutral()
    warm_up, timed_pass, items = model_pass(classifier, [f"order {i} arrived late" for i in range(10)])
    warm_up()
    timed_pass()
    assert items == 10 and classifier.texts_read == [10, 10]


def test_the_worker_step_runs_over_rows_the_worker_reads() -> None:
    # Its stand-in rows lacked the human labels the worker's triage reads since 2026-12-07: the bench crashed there.
    from bench.sentiment import worker_pass

    (warm_up, timed_pass, items), counts = worker_pass(_Neutral(), [f"order {i} arrived late" for i in range(10)])
    warm_up()
    timed_pass()
    assert items == 10 and counts["embedded"] == 0  # a neutral reading makes no incident candidate
