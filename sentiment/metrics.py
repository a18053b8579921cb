"""Accuracy, macro-recall and macro-F1 over the three labels (no sklearn needed)."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sentiment.labels import LABELS


@dataclass(frozen=True)
class Scores:
    n: int
    accuracy: float
    macro_recall: float
    macro_f1: float

    def as_dict(self) -> dict[str, float]:
        return {"n": self.n, "accuracy": round(self.accuracy, 4),
                "macro_recall": round(self.macro_recall, 4), "macro_f1": round(self.macro_f1, 4)}


def score(gold: Sequence[str], pred: Sequence[str], labels: Sequence[str] = LABELS) -> Scores:
    """Macro averages are over those of `labels` that occur in gold or pred (as scikit-learn's): a
    sample without neutral rows, say one language's few relabelled mentions, is not scored as if
    neutral had been missed. A label in gold but never predicted counts as 0, as one predicted but
    never in gold."""
    if len(gold) != len(pred):
        raise ValueError("gold and pred differ in length")
    n = len(gold)
    correct = sum(g == p for g, p in zip(gold, pred))
    present = [label for label in labels if label in gold or label in pred]
    recalls, f1s = [], []
    for label in present:
        tp = sum(g == label and p == label for g, p in zip(gold, pred))
        n_gold = sum(g == label for g in gold)
        n_pred = sum(p == label for p in pred)
        recall = tp / n_gold if n_gold else 0.0
        precision = tp / n_pred if n_pred else 0.0
        recalls.append(recall)
        f1s.append(2 * precision * recall / (precision + recall) if precision + recall else 0.0)
    return Scores(n, correct / n if n else 0.0, sum(recalls) / len(present) if present else 0.0,
                  sum(f1s) / len(present) if present else 0.0)
