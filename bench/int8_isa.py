"""int8 labels computed with AVX2 kernels, against fp32's, on any x86-64 host.

    python bench/int8_isa.py [--data ../shared/data/sentiment] [--per-set 100]

ONNX Runtime picks its int8 kernels by the CPU's features, and AVX2 without VNNI adds u8 x s8
products in pairs into 16-bit sums that can saturate. valgrind's simulated CPU has AVX2 but no
AVX-512 or VNNI, so under valgrind ONNX Runtime runs its AVX2 kernels whatever the host (exactly,
but hundreds of times slower: 1-2 s per text). This classifies the first --per-set texts of each
validation set in fp32 and in int8 on the host, then in int8 under valgrind (the host's int8 run
has built the graph by then, so valgrind never runs a build), and prints each int8 run's
agreement with fp32's labels, every run's per-set scores (macro-recall for TweetEval, macro-F1
for XLM-T), and how often the two int8 runs agree.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[0] = str(ROOT)  # not bench/, whose queue.py would shadow the standard library's

from bench._cli import positive_int, run_child, sentiment_data  # noqa: E402
from sentiment.data import DEFAULT_DATA, goal_metric, load_splits  # noqa: E402
from sentiment.labels import LABELS  # noqa: E402
from sentiment.metrics import score  # noqa: E402


def classify(data: Path, per_set: int, precision: str) -> dict[str, list[str]]:
    """Labels of the first `per_set` texts of each validation set (run in a child process)."""
    from sentiment import load_classifier

    clf = load_classifier(threads=2, precision=precision)
    _, val = load_splits(data)
    return {name: [p.label for p in clf.classify(s.texts[:per_set], s.langs[:per_set], batch_size=64)]
            for name, s in val.items()}


def run(data: Path, per_set: int, precision: str, under_valgrind: bool) -> dict[str, list[str]]:
    command = [sys.executable, __file__, "--data", str(data), "--per-set", str(per_set), "--child", precision]
    if under_valgrind:
        command = ["valgrind", "--tool=none", "-q", *command]
    start = time.perf_counter()
    out = run_child(" ".join(command), command)
    print(f"  {precision}{' under valgrind' if under_valgrind else ''}: {time.perf_counter() - start:.0f} s",
          flush=True)
    return json.loads(out.splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=sentiment_data, default=str(DEFAULT_DATA))
    ap.add_argument("--per-set", type=positive_int, default=100, help="texts classified from each validation set")
    ap.add_argument("--child", help=argparse.SUPPRESS)  # precision: classify and print the labels as JSON
    args = ap.parse_args()
    if args.child:
        print(json.dumps(classify(args.data, args.per_set, args.child)))
        return
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed (Debian: apt-get install valgrind)")
    _, val = load_splits(args.data)
    gold = {name: [LABELS[i] for i in s.labels[: args.per_set]] for name, s in val.items()}
    runs = {"fp32": run(args.data, args.per_set, "fp32", False),
            "int8 (this CPU)": run(args.data, args.per_set, "int8", False),
            "int8 (AVX2 kernels)": run(args.data, args.per_set, "int8", True)}
    reference = runs["fp32"]
    total = sum(map(len, reference.values()))
    print(f"{args.per_set} texts per validation set, {total} in all")
    for name, labels in runs.items():
        agree = sum(a == b for s in labels for a, b in zip(labels[s], reference[s]))
        scores = [f"{s.removeprefix('xlmt_')} {getattr(score(gold[s], predicted), goal_metric(s)):.3f}"
                  for s, predicted in labels.items()]
        print(f"{name:>20}: agrees with fp32 on {agree}/{total} ({agree / total:.3f}); {', '.join(scores)}")
    native, avx2 = runs["int8 (this CPU)"], runs["int8 (AVX2 kernels)"]
    same = sum(a == b for s in native for a, b in zip(native[s], avx2[s]))
    print(f"int8 on this CPU and with AVX2 kernels give the same label to {same}/{total} ({same / total:.3f})")


if __name__ == "__main__":
    main()
