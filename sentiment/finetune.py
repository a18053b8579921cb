"""Partial fine-tuning: train the top e5 layers together with the head.

Only the top `n_layers` encoder layers and the head are trained (bf16 autocast
on CPU, which uses AMX where present); everything below stays the packaged
base, so the artifact holds just those layers (fp16) plus the head.
"""
from __future__ import annotations

import math
import random
import time
from collections.abc import Sequence

import torch
from torch import nn

from sentiment.data import LabelledSet
from sentiment.encoder import E5Encoder
from sentiment.head import HeadConfig, SentimentHead


def trainable_layer_names(n_layers: int, total: int = 12) -> list[str]:
    return [f"encoder.layer.{i}." for i in range(total - n_layers, total)]


def top_layer_state(model: nn.Module, n_layers: int) -> dict[str, torch.Tensor]:
    prefixes = tuple(trainable_layer_names(n_layers, len(model.encoder.layer)))
    return {k: v.detach().to(torch.float16).contiguous() for k, v in model.state_dict().items()
            if k.startswith(prefixes)}


def _bucketed_batches(lengths: Sequence[int], batch_size: int, rng: random.Random) -> list[list[int]]:
    """Shuffled batches of similar-length rows (sorted within windows of 50 batches)."""
    order = list(range(len(lengths)))
    rng.shuffle(order)
    window = batch_size * 50
    batches = []
    for start in range(0, len(order), window):
        chunk = sorted(order[start:start + window], key=lambda i: lengths[i])
        batches += [chunk[i:i + batch_size] for i in range(0, len(chunk), batch_size)]
    rng.shuffle(batches)
    return batches


def finetune(encoder: E5Encoder, train: LabelledSet, weights: torch.Tensor, cfg: HeadConfig, *,
             n_layers: int, epochs: int, lr: float, head_lr: float, batch_size: int, seed: int,
             evaluate=None) -> tuple[SentimentHead, dict[str, torch.Tensor]]:
    """Train in place on `encoder.model` (must be fp32). `evaluate(head)` -> score, run
    after every epoch; the best epoch's weights are returned."""
    model = encoder.model
    prefixes = tuple(trainable_layer_names(n_layers, len(model.encoder.layer)))
    enc_params = []
    for name, p in model.named_parameters():
        p.requires_grad = name.startswith(prefixes)
        if p.requires_grad:
            enc_params.append(p)
    head = SentimentHead(cfg)
    opt = torch.optim.AdamW([
        {"params": enc_params, "lr": lr, "weight_decay": 0.01},
        {"params": head.parameters(), "lr": head_lr, "weight_decay": 0.05},
    ])
    ids = encoder.tokenize(train.texts)
    rng = random.Random(seed)
    steps_per_epoch = math.ceil(len(ids) / batch_size)
    total = epochs * steps_per_epoch
    warmup = max(1, total // 20)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warmup, max(0.0, (total - s) / (total - warmup))))
    loss_fn = nn.CrossEntropyLoss(reduction="none", label_smoothing=0.05)
    labels = torch.tensor(train.labels)
    best: tuple[float, dict, dict] | None = None
    for epoch in range(epochs):
        model.train()
        head.train()
        t0, seen = time.time(), 0
        for step, idx in enumerate(_bucketed_batches([len(x) for x in ids], batch_size, rng)):
            enc = encoder.tokenizer.pad({"input_ids": [ids[i] for i in idx]}, return_tensors="pt")
            with torch.autocast("cpu", dtype=torch.bfloat16):
                feats = encoder.pooled(model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"],
                                             output_hidden_states=True), enc["attention_mask"])
            loss = (loss_fn(head(feats), labels[idx]) * weights[idx]).mean()
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(enc_params, 1.0)
            opt.step()
            sched.step()
            seen += len(idx)
            if step % 100 == 0:
                print(f"epoch {epoch} step {step}/{steps_per_epoch} loss {loss.item():.4f} "
                      f"{seen / (time.time() - t0):.0f} texts/s", flush=True)
        model.eval()
        head.eval()
        score = evaluate(head) if evaluate else float(epoch)
        print(f"epoch {epoch} validation score {score:.4f}", flush=True)
        if best is None or score > best[0]:
            best = (score, top_layer_state(model, n_layers),
                    {k: v.clone() for k, v in head.state_dict().items()})
    assert best is not None
    head.load_state_dict(best[2])
    return head.eval(), best[1]
