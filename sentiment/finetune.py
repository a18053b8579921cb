"""Fine-tuning the middle of e5 on top of a frozen, cached bottom.

The bottom `frozen` layers stay the packaged base. They are run once over every
training and validation text (batched, bf16 where the CPU has it) and their
output token states are kept in memory, so an epoch only runs the trained
layers `frozen+1 .. deepest`: on two CPU cores that is what makes fine-tuning
affordable. Layers above `deepest` are dropped from the classifier altogether,
which is also what makes it fast at inference.

The head reads the mean-pooled states of `cfg.layers`; those at or below
`frozen` are pooled once, with the cache.
"""
from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import nn
from transformers.masking_utils import create_bidirectional_mask

from sentiment.encoder import E5Encoder, mean_pool
from sentiment.head import HeadConfig, SentimentHead
from sentiment.runtime import cpu_has_fast_bf16


@dataclass
class PrefixCache:
    """Per text: the token states after the frozen layers (bf16), and the frozen layers' pooled states."""

    states: list[torch.Tensor]   # (tokens, hidden) per text
    pooled: torch.Tensor         # (texts, len(pooled_layers) * hidden), float32
    pooled_layers: list[int]


def build_prefix_cache(encoder: E5Encoder, texts: Sequence[str], frozen: int, batch_size: int = 64) -> PrefixCache:
    """Run the frozen bottom over `texts` once. `encoder` must stop at layer `frozen`."""
    from tqdm import tqdm

    assert encoder.model is not None and max(encoder.layers) == frozen
    pooled_layers = [layer for layer in encoder.layers if layer < frozen] + [frozen]
    states: list[torch.Tensor | None] = [None] * len(texts)
    pooled = torch.empty(len(texts), len(pooled_layers) * encoder.hidden_size)
    with tqdm(total=len(texts), unit="text", desc=f"e5 layers 1-{frozen}") as bar, torch.inference_mode():
        for idx, enc in encoder.batches(texts, batch_size):
            ids, attention = enc["input_ids"].to(encoder.device), enc["attention_mask"].to(encoder.device)
            hidden = encoder.model(input_ids=ids, attention_mask=attention, output_hidden_states=True).hidden_states
            mask = attention.unsqueeze(-1).float()
            pooled[idx] = torch.cat([mean_pool(hidden[layer], mask) for layer in pooled_layers], -1).cpu()
            lengths = attention.sum(1).tolist()
            for row, i in enumerate(idx):
                states[i] = hidden[frozen][row, : lengths[row]].to(torch.bfloat16).cpu().clone()
            bar.update(len(idx))
    return PrefixCache(states, pooled, pooled_layers)  # type: ignore[arg-type]


class TrainedMiddle(nn.Module):
    """e5 layers `frozen+1 .. deepest` (trained) and the head over the pooled `cfg.layers`."""

    def __init__(self, base: nn.Module, frozen: int, cfg: HeadConfig) -> None:
        super().__init__()
        deepest = max(cfg.layers)
        self.config = base.config
        self.first = frozen + 1
        self.layers = nn.ModuleList(base.encoder.layer[frozen:deepest]).float()
        self.frozen_pooled = [layer for layer in cfg.layers if layer <= frozen]
        self.head_layers = list(cfg.layers)
        self.head = SentimentHead(cfg)

    def forward(self, states: torch.Tensor, attention: torch.Tensor, frozen_pooled: dict[int, torch.Tensor]) -> torch.Tensor:
        """Head logits. `states`: padded layer-`frozen` states; `frozen_pooled`: pooled states by layer."""
        mask4d = create_bidirectional_mask(config=self.config, inputs_embeds=states, attention_mask=attention)
        mask = attention.unsqueeze(-1).float()
        pooled = dict(frozen_pooled)
        hidden = states
        for offset, layer in enumerate(self.layers):
            hidden = layer(hidden, mask4d)
            pooled[self.first + offset] = mean_pool(hidden, mask)
        return self.head(torch.cat([pooled[layer] for layer in self.head_layers], -1))

    def layer_state(self) -> dict[str, torch.Tensor]:
        """The trained layers under their BertModel names, fp16 (what the artifact stores)."""
        return {f"encoder.layer.{self.first - 1 + offset}.{name}": value.detach().to(torch.float16).contiguous()
                for offset, layer in enumerate(self.layers) for name, value in layer.state_dict().items()}


def padded_batch(cache: PrefixCache, idx: Sequence[int], model: TrainedMiddle,
                 device: torch.device) -> tuple[torch.Tensor, torch.Tensor, dict[int, torch.Tensor]]:
    """`model`'s inputs for the cached texts `idx`: padded states, attention mask, frozen pooled states."""
    rows = [cache.states[i] for i in idx]
    width = max(len(r) for r in rows)
    states = torch.zeros(len(rows), width, rows[0].shape[-1], dtype=torch.float32)
    attention = torch.zeros(len(rows), width, dtype=torch.long)
    for j, r in enumerate(rows):
        states[j, : len(r)] = r.float()
        attention[j, : len(r)] = 1
    hidden = rows[0].shape[-1]
    pooled = cache.pooled[list(idx)]
    frozen_pooled = {layer: pooled[:, k * hidden:(k + 1) * hidden].to(device)
                     for k, layer in enumerate(cache.pooled_layers) if layer in model.frozen_pooled}
    return states.to(device), attention.to(device), frozen_pooled


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


def logits(model: TrainedMiddle, cache: PrefixCache, device: torch.device,
           batch_size: int = 128) -> torch.Tensor:
    """Head logits for every text in `cache`, in order."""
    model.eval()
    order = sorted(range(len(cache.states)), key=lambda i: len(cache.states[i]))
    out = torch.empty(len(order), len(model.head.net[-1].bias))
    with torch.inference_mode(), _autocast(device):
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            out[idx] = model(*padded_batch(cache, idx, model, device)).float().cpu()
    return out


def _autocast(device: torch.device) -> torch.autocast:
    fast = device.type == "cuda" or cpu_has_fast_bf16()
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=fast)


def finetune(model: TrainedMiddle, cache: PrefixCache, labels: torch.Tensor, weights: torch.Tensor, *,
             epochs: int, lr: float, head_lr: float, batch_size: int, seed: int, device: torch.device,
             evaluate: Callable[[TrainedMiddle], float], evaluations_per_epoch: int = 2,
             ema_decay: float = 0.999) -> TrainedMiddle:
    """Train `model` and return the best of its checkpoints by `evaluate(model)` -> score.

    What is evaluated (and returned) is an exponential moving average of the weights: on these
    small, noisy batches the raw weights' validation scores swing by several points from one
    few hundred steps to the next, the average's much less.
    """
    from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

    model.to(device)
    averaged = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(ema_decay), use_buffers=True)
    opt = torch.optim.AdamW([
        {"params": model.layers.parameters(), "lr": lr, "weight_decay": 0.01},
        {"params": model.head.parameters(), "lr": head_lr, "weight_decay": 0.05},
    ])
    rng = random.Random(seed)
    lengths = [len(s) for s in cache.states]
    steps_per_epoch = math.ceil(len(lengths) / batch_size)
    total = epochs * steps_per_epoch
    warmup = max(1, total // 20)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warmup, max(0.0, (total - s) / (total - warmup))))
    loss_fn = nn.CrossEntropyLoss(reduction="none", label_smoothing=0.05)
    check_every = max(1, steps_per_epoch // evaluations_per_epoch)
    best: tuple[float, dict[str, torch.Tensor]] | None = None
    for epoch in range(epochs):
        model.train()
        t0, seen = time.time(), 0
        for step, idx in enumerate(_bucketed_batches(lengths, batch_size, rng), start=1):
            with _autocast(device):
                out = model(*padded_batch(cache, idx, model, device))
            loss = (loss_fn(out.float(), labels[idx].to(device)) * weights[idx].to(device)).mean()
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            averaged.update_parameters(model)
            seen += len(idx)
            if step % 200 == 0:
                print(f"epoch {epoch} step {step}/{steps_per_epoch} loss {loss.item():.4f} "
                      f"{seen / (time.time() - t0):.0f} texts/s", flush=True)
            if step % check_every == 0 or step == steps_per_epoch:
                score = evaluate(averaged.module)
                print(f"epoch {epoch} step {step}: validation score {score:.4f}", flush=True)
                if best is None or score > best[0]:
                    best = (score, {k: v.detach().clone() for k, v in averaged.module.state_dict().items()})
                model.train()
    assert best is not None
    model.load_state_dict(best[1])
    return model.eval()
