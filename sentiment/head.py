"""The trained classifier head over e5 features, and its on-disk artifact (with any fine-tuned layers).

Input: the mean-pooled output of a few e5 layers, concatenated. Output: logits
over LABELS, divided by a temperature fitted on validation data so that the
softmax is a calibrated probability.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch import nn

from sentiment.encoder import PREFIX
from sentiment.errors import ModelNotAvailable, reason
from sentiment.labels import LABELS

WEIGHTS_FILE = "head.safetensors"
CONFIG_FILE = "head_config.json"
LAYERS_FILE = "e5_top_layers.safetensors"


@dataclass
class HeadConfig:
    layers: list[int]
    hidden_size: int = 384           # e5-small width, per pooled layer
    mlp_size: int = 512
    dropout: float = 0.2
    max_tokens: int = 128
    # Put before every text. e5's own convention is PREFIX; the shipped model is trained without it
    # (3 of a tweet's ~35 tokens, the same accuracy). Artifacts written before the field existed
    # were trained with it, hence the default.
    prefix: str = PREFIX
    temperature: float = 1.0
    labels: list[str] = field(default_factory=lambda: list(LABELS))
    trained_precision: str = "bf16"
    finetuned_layers: int = 0        # trained e5 layers, below the deepest one read, in LAYERS_FILE (0: none)
    metrics: dict[str, dict[str, float]] = field(default_factory=dict)
    training: dict[str, object] = field(default_factory=dict)


class SentimentHead(nn.Module):
    def __init__(self, cfg: HeadConfig) -> None:
        super().__init__()
        in_dim = cfg.hidden_size * len(cfg.layers)
        self.norm = nn.LayerNorm(in_dim)
        self.net = nn.Sequential(
            nn.Dropout(cfg.dropout), nn.Linear(in_dim, cfg.mlp_size), nn.GELU(),
            nn.Dropout(cfg.dropout), nn.Linear(cfg.mlp_size, len(cfg.labels)),
        )
        self.register_buffer("temperature", torch.tensor(float(cfg.temperature)))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """Uncalibrated logits."""
        return self.net(self.norm(features))

    def probabilities(self, features: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self(features) / self.temperature, dim=-1)


def save_head(head: SentimentHead, cfg: HeadConfig, folder: Path,
              layer_weights: dict[str, torch.Tensor] | None = None) -> None:
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    if layer_weights:
        save_file(layer_weights, str(folder / LAYERS_FILE))
    elif (folder / LAYERS_FILE).exists():
        (folder / LAYERS_FILE).unlink()
    cfg.temperature = float(head.temperature)
    state = {k: v.detach().to(torch.float32).contiguous() for k, v in head.state_dict().items()}
    save_file(state, str(folder / WEIGHTS_FILE))
    (folder / CONFIG_FILE).write_text(json.dumps(asdict(cfg), indent=2) + "\n")


def load_layer_weights(folder: Path, cfg: HeadConfig) -> dict[str, torch.Tensor] | None:
    from safetensors.torch import load_file

    if not cfg.finetuned_layers:
        return None
    path = folder / LAYERS_FILE
    if not path.exists():
        raise ModelNotAvailable(f"{path} is missing but the head was trained with fine-tuned layers")
    try:
        return {k: v.float() for k, v in load_file(str(path)).items()}
    except Exception as exc:  # cut short, or not safetensors: a one-line error, not a traceback
        raise ModelNotAvailable(f"cannot load {path}: {reason(exc)}") from exc


def load_head(folder: Path) -> tuple[SentimentHead, HeadConfig]:
    from safetensors.torch import load_file

    if not (folder / WEIGHTS_FILE).exists() or not (folder / CONFIG_FILE).exists():
        raise ModelNotAvailable(f"no trained sentiment head in {folder} (run: python -m sentiment.train)")
    # A damaged artifact (cut short, edited by hand, from another version) is a one-line error, not a traceback.
    try:
        cfg = HeadConfig(**json.loads((folder / CONFIG_FILE).read_text()))
        head = SentimentHead(cfg)
    except Exception as exc:  # not JSON, not an object, unknown or missing keys, values of the wrong type
        raise ModelNotAvailable(f"cannot load {folder / CONFIG_FILE}: {reason(exc)}") from exc
    try:
        head.load_state_dict(load_file(str(folder / WEIGHTS_FILE)))
    except Exception as exc:  # cut short, not safetensors, or weights of another shape than the config says
        raise ModelNotAvailable(f"cannot load {folder / WEIGHTS_FILE}: {reason(exc)}") from exc
    return head.eval(), cfg
