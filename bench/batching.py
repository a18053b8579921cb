"""Batch cutting: the classifier's batches cut where padding is least, against filled in order.

    python bench/batching.py [--precision int8] [--data ../shared/data/sentiment] [--n 1280] [--repeats 4]

Classifies the same validation tweets in calls of 1,280, 512 (what a `classify-pending` worker
reads at once), 64 and 16 (a poller's new mentions), each call cut into batches of at most 64 both
ways: `encoder.full_batches` (as many texts as fit, in length order; what the PyTorch precisions,
bf16 and fp32, do) and `encoder.least_padded_batches` (what the int8 graph does). The two run in
turns in one process, the fastest of `--repeats` passes each counting, and the bench prints the
padding, the batches, the tweets/s of each and their ratio, then the same for the worker's whole
model step (classify, triage, and the incident candidates' embeddings) in calls of 512. For the
PyTorch precisions, whose oneDNN kernels keep state per batch shape, it then prints the peak RSS of
a worker on a mixed workload (bench/sentiment.py's) with each cut, in processes of their own.
"""
from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Run as a script, bench/ itself is sys.path[0]; its modules (e.g. bench/queue.py) would
# shadow the standard library, so import from the repo root instead.
sys.path[0] = str(ROOT)

from bench._cli import positive_int, sentiment_data, thread_count  # noqa: E402
from monitor.classify import BATCHES_PER_READ  # noqa: E402
from sentiment import encoder, load_classifier  # noqa: E402
from sentiment.data import DEFAULT_DATA, load_splits  # noqa: E402

CUTS = {"filled in order": encoder.full_batches, "least padded": encoder.least_padded_batches}


def bench_module(name: str):
    """Another bench script as a module (bench/ is no package)."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "bench" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def cut_with(clf, cut: Callable) -> None:
    """Make the classifier's encoders (its own and the incident embedder) cut their batches with `cut`."""
    for enc in (clf.encoder, clf._base_encoder()):
        enc.cut_batches = cut


def padding(clf, calls: list[list[str]]) -> tuple[float, int]:
    """Share of the tokens run that are padding, and the number of batches."""
    real = run = batches = 0
    for call in calls:
        for _, enc in clf.encoder.batches(call, 64):
            mask = enc["attention_mask"]
            real, run, batches = real + int(mask.sum()), run + mask.numel(), batches + 1
    return 1 - real / run, batches


def fastest_in_turns(clf, passes: dict[str, Callable[[], None]], repeats: int) -> dict[str, float]:
    """Seconds of the fastest of `repeats` passes of each, run in turns, each after an untimed one."""
    best = dict.fromkeys(passes, float("inf"))
    for _ in range(repeats):
        for name, run in passes.items():
            cut_with(clf, CUTS[name])
            run()  # warm-up: the other cut's batches ran last
            start = time.perf_counter()
            run()
            best[name] = min(best[name], time.perf_counter() - start)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=sentiment_data, default=str(DEFAULT_DATA))
    ap.add_argument("--n", type=positive_int, default=1280, help="validation tweets classified")
    ap.add_argument("--repeats", type=positive_int, default=4, help="timed passes of each cut; the fastest counts")
    ap.add_argument("--threads", type=thread_count, default=2)
    ap.add_argument("--precision", choices=("int8", "bf16", "fp32"), default="int8")
    args = ap.parse_args()

    tweets = load_splits(args.data)[1]["tweeteval"].texts
    texts = (tweets * (args.n // len(tweets) + 1))[: args.n]
    clf = load_classifier(threads=args.threads, precision=args.precision)
    print(f"{args.precision} classifier, {args.threads} threads, {len(texts)} TweetEval validation tweets, "
          f"fastest of {args.repeats} passes; {encoder.BATCH_COST_TOKENS} tokens' worth a batch")
    for size in (len(texts), 64 * BATCHES_PER_READ, 64, 16):
        calls = [texts[i:i + size] for i in range(0, len(texts), size)]
        shape = {}
        for name, cut in CUTS.items():
            cut_with(clf, cut)
            shape[name] = padding(clf, calls)

        def classify_all(calls: list[list[str]] = calls) -> None:
            for call in calls:
                clf.classify(call, ["en"] * len(call))
        seconds = fastest_in_turns(clf, dict.fromkeys(CUTS, classify_all), args.repeats)
        print(f"\ncalls of {size}:")
        for name in CUTS:
            share, batches = shape[name]
            print(f"  {name:16} {len(texts) / seconds[name]:6.0f} tweets/s  {batches:4d} batches, "
                  f"{100 * share:4.1f} % padding")
        print(f"  least padded / filled in order: {seconds['filled in order'] / seconds['least padded']:.2f}x")

    sentiment_bench = bench_module("sentiment")
    (_, worker_step, _), counts = sentiment_bench.worker_pass(clf, texts)
    seconds = fastest_in_turns(clf, dict.fromkeys(CUTS, worker_step), args.repeats)
    print(f"\nclassify-pending worker's model step ({counts['per_call']} a call, triaged, "
          f"{counts['embedded']} incident candidates embedded):")
    for name in CUTS:
        print(f"  {name:16} {len(texts) / seconds[name]:6.0f} mentions/s")
    print(f"  least padded / filled in order: {seconds['filled in order'] / seconds['least padded']:.2f}x")
    if args.precision == "int8":
        return
    print(f"\nworker peak RSS, 60 calls of 1-{64 * BATCHES_PER_READ} texts, a third of them long, "
          "languages detected in half:")
    for name, cut in CUTS.items():
        workload = (f"from sentiment import encoder\nclf.encoder.cut_batches = clf._base_encoder().cut_batches = "
                    f"encoder.{cut.__name__}\n{sentiment_bench.MIXED}")
        rss = sentiment_bench.worker_rss_mb(tweets, args.threads, False, args.precision, workload=workload)
        print(f"  {name:16} {rss:6.0f} MB")


if __name__ == "__main__":
    main()
