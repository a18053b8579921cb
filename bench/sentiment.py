"""Sentiment benchmark: validation accuracy, CPU throughput vs a naive baseline, worker RSS.

    python bench/sentiment.py [--data ../shared/data/sentiment] [--precisions auto,fp32,int8]

Prints, for the default model: macro-recall on TweetEval val and macro-F1 per
XLM-T validation language (plus the average); tweets/s at batch 64 for each
precision and for a naive transformers `pipeline` called one text at a time in fp32
(the same run, each the fastest of --repeats passes), on the whole 12-layer e5 network
and on the default model's own depth, and the ratios (the default model timed again, in turns
with each pipeline); the rate of a `classify-pending` worker's model step (classify, triage,
embed the incident candidates) against classifying alone, in turns; and the peak RSS of a separate
worker process that loads the classifier, classifies the timed tweets twice and embeds
the non-positive ones as the classify worker does for incident candidates (with the platform
language given, and with language detection; per other precision; on a first start, with an
empty model cache; and over 60 calls of mixed sizes and lengths, as a long-running worker sees
them). For Hindi, whose val labels are at chance, it also scores the gold labels and the model
against a hand relabelling of sampled rows (bench/annotations/).
Timings use the tweets of tweeteval_val, repeated as needed.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Run as a script, bench/ itself is sys.path[0]; its modules (e.g. bench/queue.py) would
# shadow the standard library, so import from the repo root instead.
sys.path[0] = str(ROOT)

from bench._cli import positive_int, run_child, sentiment_data, thread_count  # noqa: E402
from sentiment.data import (DEFAULT_DATA, UNRELIABLE_VALIDATION, goal_metric, load_splits, read_set,  # noqa: E402
                            xlmt_averages)
from sentiment.labels import LABELS  # noqa: E402
from sentiment.metrics import score  # noqa: E402
from sentiment.runtime import PRECISIONS  # noqa: E402

WORKER = """
import json, random, resource, sys
sys.path.insert(0, {root!r})
from sentiment import load_classifier
texts = json.load(open({texts!r}))
clf = load_classifier(threads={threads}, precision={precision!r})
{workload}
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""
STEADY = """
langs = ["en"] * len(texts) if {given_langs} else None
for _ in range(2):
    predictions = clf.classify(texts, langs, batch_size=64)
# As `mentiondesk classify-pending` does: the base network's sentence embeddings for incident candidates.
clf.embed([t for t, p in zip(texts, predictions) if p.label != "positive"], batch_size=64)
"""
# As a long-running classify-pending worker sees them: calls of every size up to the 512 it reads at
# once (monitor.classify.BATCHES_PER_READ batches of 64; until 2026-12-06, 256), or up to --n where that
# is fewer, a third of them long posts (a tweet repeated up to 6 times, so up to the 128-token limit),
# languages given by some platforms and detected for others, incident candidates embedded after each call.
MIXED = """
rng = random.Random(1)
for call in range(60):
    batch = rng.sample(texts, min(len(texts), rng.randint(1, 512)))
    if call % 3 == 0:
        batch = [t * rng.randint(1, 6) for t in batch]
    predictions = clf.classify(batch, None if call % 2 else ["en"] * len(batch))
    clf.embed([t for t, p in zip(batch, predictions) if p.label != "positive"])
"""


def accuracy(clf, val) -> dict[str, float]:
    out = {}
    for name, s in val.items():
        preds = clf.classify(s.texts, s.langs, batch_size=64)
        m = score([LABELS[i] for i in s.labels], [p.label for p in preds])
        out[name] = getattr(m, goal_metric(name))
    out.update(xlmt_averages(out))
    return out


def hindi_relabelled(data_dir: Path) -> dict[str, tuple[list[str], list[str], list[str]]]:
    """bench/annotations/hindi_relabelled.jsonl (a hand relabelling of sampled Hindi rows, made
    blind to the gold labels), by data file: (texts, gold labels, hand labels) of its rows."""
    marks = [json.loads(line) for line in (ROOT / "bench/annotations/hindi_relabelled.jsonl").open()]
    out = {}
    for name in sorted({m["file"] for m in marks}):
        data = read_set(data_dir / name)
        rows = [m for m in marks if m["file"] == name]
        for m in rows:
            if hashlib.sha256(data.texts[m["row"]].encode()).hexdigest()[:16] != m["text_sha256"]:
                raise SystemExit(f"{name} row {m['row']} is not the text that was relabelled: another data version?")
        out[name] = ([data.texts[m["row"]] for m in rows], [LABELS[data.labels[m["row"]]] for m in rows],
                     [m["label"] for m in rows])
    return out


def model_pass(clf, texts: list[str], batch_size: int = 64) -> tuple[Callable[[], None], Callable[[], None], int]:
    """(warm-up, timed pass, items) for `rates_in_turns`: `clf` classifying `texts` at `batch_size`."""
    warm = texts[:batch_size]  # all of them where --n is under a batch
    return (lambda: clf.classify(warm, ["en"] * len(warm), batch_size),
            lambda: clf.classify(texts, ["en"] * len(texts), batch_size), len(texts))


def worker_pass(clf, texts: list[str], batch_size: int = 64) -> tuple[
        tuple[Callable[[], None], Callable[[], None], int], dict[str, int]]:
    """(warm-up, timed pass, items) for `rates_in_turns`: the model step of a `classify-pending`
    worker over `texts`, without its database: as many mentions a call as it reads at once, each
    classified and triaged, and the incident candidates among them embedded. Also a dict whose
    "embedded" is the number of candidates the last pass embedded."""
    from datetime import UTC, datetime
    from types import SimpleNamespace

    from monitor.classify import BATCHES_PER_READ, MentionClassifier
    from sentiment.triage import DEFAULT_RULES

    worker = MentionClassifier(clf, DEFAULT_RULES)
    now = datetime.now(UTC)
    rows = [SimpleNamespace(text=t, lang="en", author_followers=100, replyable=True, created_at=now,
                            human_sentiment_label=None, human_intent=None) for t in texts]  # as the worker reads them
    per_call = batch_size * BATCHES_PER_READ
    counts = {"per_call": per_call, "embedded": 0}

    def run(some: list) -> None:
        counts["embedded"] = sum(vector is not None
                                 for start in range(0, len(some), per_call)
                                 # the worker's own model step
                                 for _, _, vector in worker._predict(some[start:start + per_call], batch_size, now))
    return (lambda: run(rows[:batch_size]), lambda: run(rows), len(rows)), counts


def naive_pass(texts: list[str], threads: int, prefix: str,
               layers: int | None = None) -> tuple[Callable[[], None], Callable[[], None], int]:
    """(warm-up, timed pass, items) for `rates_in_turns`: a transformers pipeline, one text per call,
    fp32 (the e5 network with a classification head), over `texts`. `layers`: keep only the first
    so many e5 layers (the default classifier's own depth), so the ratio also shows what batching
    and precision give on the very same network. `prefix`: put before each text, the default
    model's own (so both read the same tokens)."""
    import torch
    from transformers import AutoConfig, AutoTokenizer, BertForSequenceClassification, pipeline
    from transformers.utils import logging as transformers_logging

    from sentiment.convert import prepare_in_child

    # Its load report lists the classification head as newly initialised: true, and no matter here.
    transformers_logging.set_verbosity_error()
    transformers_logging.disable_progress_bar()
    torch.set_num_threads(threads)
    folder = prepare_in_child()
    config = AutoConfig.from_pretrained(folder, num_labels=3)
    config.num_hidden_layers = layers or config.num_hidden_layers
    model = BertForSequenceClassification.from_pretrained(folder, config=config).eval()
    pipe = pipeline("text-classification", model=model, tokenizer=AutoTokenizer.from_pretrained(folder),
                    device="cpu")

    def one_at_a_time(some: list[str]) -> None:
        for text in some:
            pipe(prefix + text, truncation=True, max_length=128)
    return lambda: one_at_a_time(texts[:8]), lambda: one_at_a_time(texts), len(texts)


def rates_in_turns(passes: dict[str, tuple[Callable[[], None], Callable[[], None], int]],
                   repeats: int) -> dict[str, float]:
    """Items/s of each named (warm-up, timed pass, items in the pass), timed in turns for `repeats`
    rounds, the fastest pass of each counting. In turns, because a shared host's speed drifts over
    the minutes of a run (the naive pipeline ran 33-44 tweets/s across runs on one Zen 4 EPYC):
    timed minutes apart, a ratio measured that drift as much as the code. Each timed pass follows
    its own untimed warm-up: the runtime that ran last keeps its threads spinning for a while
    (see encoder.E5Encoder._probe)."""
    times: dict[str, list[float]] = {name: [] for name in passes}
    for _ in range(repeats):
        for name, (warm_up, timed, _) in passes.items():
            warm_up()
            t0 = time.perf_counter()
            timed()
            times[name].append(time.perf_counter() - t0)
    return {name: count / min(times[name]) for name, (_, _, count) in passes.items()}


def build_caches(precisions: list[str], threads: int) -> None:
    """Convert the model and build each precision's cached copies (bf16 folder, int8 graphs of the
    classifier and the embedding network, "auto"'s timing) in a throwaway process, so the workers
    measure classifying, not a one-off build."""
    for precision in precisions:
        code = f"import sys; sys.path.insert(0, {str(ROOT)!r}); from sentiment import load_classifier; " \
               f"load_classifier(threads={threads}, precision={precision!r}).embed(['warm-up'])"
        run_child(f"building the {precision} model caches", [sys.executable, "-c", code])


def worker_rss_mb(texts: list[str], threads: int, given_langs: bool, precision: str = "auto",
                  model_dir: Path | None = None, workload: str = STEADY) -> float:
    """Peak RSS of the worker process itself (model builds it starts run in children of their own).
    `model_dir`: a model cache other than the data dir's (an empty one: a first start)."""
    path = Path("/tmp") / f"mentiondesk-bench-{time.time_ns()}.json"
    path.write_text(json.dumps(texts))
    env = {**os.environ, "MENTIONDESK_MODEL_DIR": str(model_dir)} if model_dir else None
    try:
        code = WORKER.format(root=str(ROOT), texts=str(path), threads=threads, precision=precision,
                             workload=workload.format(given_langs=given_langs))
        out = run_child(f"the {precision} worker measured for its peak RSS", [sys.executable, "-c", code], env=env)
    finally:
        path.unlink()
    return int(out.strip().splitlines()[-1]) / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=sentiment_data, default=str(DEFAULT_DATA))
    ap.add_argument("--precisions", default="auto,fp32,int8",
                    help=f"encoder precisions to time, comma-separated, of {', '.join(PRECISIONS)}")
    ap.add_argument("--threads", type=thread_count, default=2)
    ap.add_argument("--n", type=positive_int, default=1280, help="tweets timed per precision")
    ap.add_argument("--naive-n", type=positive_int, default=256, help="tweets timed through the naive pipeline")
    ap.add_argument("--repeats", type=positive_int, default=5, help="timed passes per figure; the fastest counts")
    ap.add_argument("--no-accuracy", action="store_true", help="time only (skip the validation sets)")
    args = ap.parse_args()
    precisions = args.precisions.split(",")
    if unknown := [p for p in precisions if p not in PRECISIONS]:
        ap.error(f"argument --precisions: not precisions: {', '.join(map(repr, unknown))} "
                 f"(choose from {', '.join(PRECISIONS)})")
    import torch

    from sentiment.api import load_classifier
    from sentiment.head import load_head
    from sentiment.paths import ARTIFACT_DIR

    _, val = load_splits(args.data)
    tweets = val["tweeteval"].texts
    texts = (tweets * (args.n // len(tweets) + 1))[: args.n]
    build_caches(precisions, args.threads)
    # Workers first: measured from a parent that has loaded no model yet (a parent that has
    # run models was seen to inflate the child's peak RSS by ~300 MB).
    print(f"classifying worker peak RSS, languages given: {worker_rss_mb(texts, args.threads, True):.0f} MB")
    print(f"classifying worker peak RSS, languages detected: {worker_rss_mb(texts, args.threads, False):.0f} MB")
    for precision in precisions:
        if precision != "auto":
            rss = worker_rss_mb(texts, args.threads, True, precision)
            print(f"classifying worker peak RSS, {precision}, languages given: {rss:.0f} MB")
    for precision in precisions:
        rss = worker_rss_mb(texts, args.threads, False, precision, workload=MIXED)
        print(f"classifying worker peak RSS, {precision}, 60 calls of 1-{min(512, len(texts))} texts, a third of "
              f"them long, languages detected in half: {rss:.0f} MB")
    with tempfile.TemporaryDirectory() as empty:
        rss = worker_rss_mb(texts, args.threads, True, model_dir=Path(empty))
        print(f"classifying worker peak RSS, first start (empty model cache; conversion and int8 graphs "
              f"built in child processes), languages given: {rss:.0f} MB")
    print(f"torch {torch.__version__}, {args.threads} threads, CPU bf16 fast path: "
          f"{torch.cpu._is_amx_tile_supported() or torch.cpu._is_avx512_bf16_supported()}")

    if not args.no_accuracy:
        relabelled = hindi_relabelled(args.data)
        print("gold labels against the hand relabelling of Hindi, macro-F1: " + "; ".join(
            f"{name} ({len(hand)} rows) {score(hand, gold).macro_f1:.3f}" for name, (_, gold, hand) in relabelled.items()))
    results = {}
    for precision in precisions:
        clf = load_classifier(threads=args.threads, precision=precision)
        resolved = getattr(getattr(clf, "encoder", None), "precision", precision)
        tps = rates_in_turns({precision: model_pass(clf, texts)}, args.repeats)[precision]
        results[precision] = tps
        # The default model, timed against the naive pipeline below: "auto", else the fastest timed.
        if precision == "auto" or ("auto" not in precisions and tps == max(results.values())):
            named, kept = precision, clf
        print(f"\n[{precision} -> {resolved}] throughput {tps:.0f} tweets/s at batch 64")
        if args.no_accuracy:
            continue
        acc = accuracy(clf, val)
        print(f"  TweetEval val macro-recall {acc['tweeteval']:.4f}")
        print("  XLM-T val macro-F1: " + "  ".join(f"{k[5:]} {v:.4f}" for k, v in acc.items()
                                                   if k.startswith("xlmt_") and not k.startswith("xlmt_average")))
        print(f"  XLM-T average macro-F1 {acc['xlmt_average']:.4f}; without "
              f"{', '.join(sorted(UNRELIABLE_VALIDATION))} (labels at chance) {acc['xlmt_average_reliable']:.4f}")
        # Not `texts`: that is what the next precision and the naive pipeline are timed on.
        hindi, _, hand = relabelled["xlmt_hindi_val.jsonl"]
        model = score(hand, [p.label for p in clf.classify(hindi, ["hi"] * len(hindi))]).macro_f1
        print(f"  Hindi val, macro-F1 against the hand relabelling ({len(hindi)} rows): {model:.3f}")

    default = load_head(ARTIFACT_DIR)[1]
    worker, counts = worker_pass(kept, texts)
    rates = rates_in_turns({"model": model_pass(kept, texts), "worker": worker}, args.repeats)
    print(f"\nas a classify-pending worker ({named}; {counts['per_call']} mentions a call, triaged, the "
          f"{counts['embedded']} incident candidates of {len(texts)} embedded by the base network): "
          f"{rates['worker']:.0f} tweets/s, "
          f"{rates['worker'] / rates['model']:.2f}x classifying alone ({rates['model']:.0f}, timed in turns)")
    for depth in (None, max(default.layers)):
        rates = rates_in_turns({"model": model_pass(kept, texts),
                                "naive": naive_pass(texts[: args.naive_n], args.threads, default.prefix, depth)},
                               args.repeats)
        network = f"{depth} e5 layers, as the default model" if depth else "all 12 e5 layers"
        print(f"naive pipeline, one text at a time (fp32, {network}, prefix {default.prefix!r}): "
              f"{rates['naive']:.1f} tweets/s; model ({named}) at batch 64, timed in turns with it: "
              f"{rates['model']:.0f} tweets/s = {rates['model'] / rates['naive']:.1f}x")

if __name__ == "__main__":
    main()
