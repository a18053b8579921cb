"""Early exit: could the classifier stop at an earlier layer for the tweets it is already sure of?

    python bench/early_exit.py [--data ../shared/data/sentiment] [--precision int8] [--train-rows N]

The shipped head reads the mean-pooled states of e5 layers 2, 4, 6 and 8. For each of those but
the deepest, this trains an exit head (sentiment.train.train_head, the shipped head's shape) on
the pooled layers up to it, with the shipped model's own labels on the train set as targets, so
that an exit head learns to say what the whole model would. Then, per confidence threshold, a
validation tweet stops at the first exit whose head is at least that sure, and the bench prints
the share stopping at each exit, the arithmetic saved (the layers not run, each layer costing
alike), the labels that differ from the shipped model's, and TweetEval macro-recall and the XLM-T
average macro-F1 (all eight languages, and without Hindi) against the shipped model's own.
Encoding the ~60k train tweets takes ~5 minutes on a 2-core AVX2 EPYC in int8.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Run as a script, bench/ itself is sys.path[0]; its modules (e.g. bench/queue.py) would
# shadow the standard library, so import from the repo root instead.
sys.path[0] = str(ROOT)

import torch  # noqa: E402

from bench._cli import number, sentiment_data  # noqa: E402
from sentiment import load_classifier  # noqa: E402
from sentiment.data import DEFAULT_DATA, goal_metric, load_splits, xlmt_averages  # noqa: E402
from sentiment.head import HeadConfig  # noqa: E402
from sentiment.labels import LABELS  # noqa: E402
from sentiment.metrics import score  # noqa: E402
from sentiment.runtime import PRECISIONS  # noqa: E402
from sentiment.train import sample_weights, seed_everything, train_head  # noqa: E402

THRESHOLDS = (0.6, 0.7, 0.75, 0.8, 0.85, 0.9)


def figures(gold: dict[str, list[int]], predicted: dict[str, torch.Tensor]) -> tuple[float, float, float]:
    """TweetEval macro-recall, XLM-T average macro-F1, and that average without Hindi."""
    by_set = {name: getattr(score([LABELS[i] for i in gold[name]], [LABELS[i] for i in predicted[name].tolist()]),
                            goal_metric(name)) for name in gold}
    averages = xlmt_averages(by_set)
    return by_set["tweeteval"], averages["xlmt_average"], averages["xlmt_average_reliable"]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=sentiment_data, default=str(DEFAULT_DATA))
    parser.add_argument("--precision", default="int8", choices=PRECISIONS,
                        help="the shipped model's precision (default int8)")
    parser.add_argument("--train-rows", type=number(0), default=0, help="train on this many random rows (0: all)")
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args(argv)
    seed_everything(args.seed)

    clf = load_classifier(precision=args.precision)
    layers, head = clf.encoder.layers, clf.head
    train, val = load_splits(args.data)
    if args.train_rows:
        keep = torch.randperm(len(train.texts))[: args.train_rows].tolist()
        for column in (train.texts, train.labels, train.langs):
            column[:] = [column[i] for i in keep]
    with torch.inference_mode():
        train_x = clf.encoder.encode(train.texts, progress=True)
        targets = head.probabilities(train_x).argmax(-1)
        val_x = {name: clf.encoder.encode(part.texts) for name, part in val.items()}
        shipped = {name: head.probabilities(x).argmax(-1) for name, x in val_x.items()}
    gold = {name: part.labels for name, part in val.items()}
    weights = sample_weights(train, lang_boost=3.0)
    print(f"{len(train.texts)} train rows; the shipped model ({args.precision}): "
          "TweetEval {:.4f}, XLM-T {:.4f}, without hi {:.4f}".format(*figures(gold, shipped)))

    width = clf.encoder.hidden_size
    exits = []  # (layer, its head's probabilities per validation set)
    for k, layer in enumerate(layers[:-1], start=1):
        exit_head = train_head(train_x[:, : k * width], targets, weights,
                               HeadConfig(layers=list(layers[:k]), hidden_size=width),
                               epochs=6, lr=1e-3, weight_decay=0.01)
        with torch.inference_mode():
            exits.append((layer, {name: exit_head.probabilities(x[:, : k * width]) for name, x in val_x.items()}))

    total = sum(len(labels) for labels in gold.values())
    print("exits | threshold | stopping there | arithmetic saved | labels changed | TweetEval | XLM-T | without hi")
    for chosen in [[e] for e in exits] + [exits[1:], exits]:
        for threshold in THRESHOLDS:
            predicted, stopped, saved = {}, [0] * len(chosen), 0.0
            for name, final in shipped.items():
                labels, open_rows = final.clone(), torch.ones(len(final), dtype=torch.bool)
                for i, (layer, probs) in enumerate(chosen):
                    sure, label = probs[name].max(-1)
                    stop = open_rows & (sure >= threshold)
                    labels[stop] = label[stop]
                    open_rows &= ~stop
                    stopped[i] += int(stop.sum())
                    saved += int(stop.sum()) * (layers[-1] - layer) / layers[-1]
                predicted[name] = labels
            changed = sum(int((predicted[n] != shipped[n]).sum()) for n in shipped)
            print(f"{'+'.join(str(layer) for layer, _ in chosen)} | {threshold:.2f} | "
                  f"{' + '.join(f'{s / total:.1%}' for s in stopped)} | {saved / total:.1%} | {changed / total:.2%} | "
                  "{:.4f} | {:.4f} | {:.4f}".format(*figures(gold, predicted)), flush=True)


if __name__ == "__main__":
    main()
