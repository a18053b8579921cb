"""Batched, length-bucketed multilingual-e5 encoder (mean pooling, chosen layers).

e5 expects the ``"query: "`` prefix and mean pooling over non-pad tokens. The
classifier head reads the mean-pooled output of a few layers, so the encoder
can stop at the deepest layer it needs.
"""
from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from pathlib import Path

import torch

from sentiment.convert import ensure_bf16_copy
from sentiment.errors import ModelNotAvailable
from sentiment.onnx_int8 import Int8Features, ensure_int8_graph
from sentiment.runtime import Precision, release_freed_memory, resolve_precision, set_threads

PREFIX = "query: "
_HANDLE = re.compile(r"@\w+")
_URL = re.compile(r"https?://\S+|www\.\S+")
_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")


def normalise_tweet(text: str) -> str:
    """Bring sources to one convention (as XLM-T does): handles -> @user, URLs -> http,
    literal ``\\u2019``-style escapes decoded. Applied in training and inference alike."""
    text = _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)
    return _URL.sub("http", _HANDLE.sub("@user", text))


class Bf16Embedding(torch.nn.Module):
    """An embedding table stored in bf16 whose rows come out as float32."""

    def __init__(self, weight: torch.Tensor) -> None:
        super().__init__()
        self.weight = torch.nn.Parameter(weight.detach().to(torch.bfloat16), requires_grad=False)

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.embedding(input_ids, self.weight).float()


class E5Encoder:
    def __init__(self, folder: Path, *, layers: Sequence[int], max_tokens: int = 128,
                 precision: Precision | str = "auto", threads: int | None = None,
                 layer_weights: dict[str, torch.Tensor] | None = None) -> None:
        from transformers import AutoConfig, AutoTokenizer
        from transformers.utils import logging as transformers_logging

        # A "Loading weights" bar per worker start only clutters the demo's and services' logs.
        transformers_logging.disable_progress_bar()
        set_threads(threads)
        if not (folder / "config.json").exists():
            raise ModelNotAvailable(f"no transformers model in {folder}")
        self.tokenizer = AutoTokenizer.from_pretrained(folder)
        self.precision = resolve_precision(precision)
        self.layers = tuple(layers)
        config = AutoConfig.from_pretrained(folder)
        if not self.layers or min(self.layers) < 1 or max(self.layers) > config.num_hidden_layers:
            raise ValueError(f"layers must be within 1..{config.num_hidden_layers}, got {self.layers}")
        self.hidden_size = config.hidden_size
        self.max_tokens = max_tokens
        self.device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        self.model: torch.nn.Module | None = None
        self.int8: Int8Features | None = None
        if self.precision == "int8":
            # ONNX Runtime's int8 graph: no PyTorch copy of the weights is loaded at all.
            self.int8 = Int8Features(ensure_int8_graph(folder, self.layers, layer_weights), torch.get_num_threads())
        else:
            self.model = self._load_torch_model(folder, layer_weights)
        release_freed_memory()

    def _load_torch_model(self, folder: Path, layer_weights: dict[str, torch.Tensor] | None) -> torch.nn.Module:
        from transformers import AutoModel

        # Always read the bf16 copy (the base weights are 4-bit underneath, so it loses nothing that
        # matters): loading fp32 and casting peaks ~1 GB.
        model = AutoModel.from_pretrained(ensure_bf16_copy(folder), add_pooling_layer=False, dtype=torch.bfloat16)
        if layer_weights:  # fine-tuned top layers from the trained artifact
            model.load_state_dict(layer_weights, strict=False)
        # Layers past the deepest one the head reads are never needed: drop them.
        model.encoder.layer = model.encoder.layer[: max(self.layers)]
        if self.precision == "fp32":
            # The 250k-token table is two thirds of the weights and only looked up: keep it in bf16
            # (~190 MB less resident) and run the layers in fp32.
            table = model.embeddings.word_embeddings
            model.embeddings.word_embeddings = torch.nn.Identity()
            model = model.float()
            model.embeddings.word_embeddings = Bf16Embedding(table.weight)
        return model.eval().to(self.device)

    @property
    def dim(self) -> int:
        return len(self.layers) * self.hidden_size

    def tokenize(self, texts: Sequence[str]) -> list[list[int]]:
        return self.tokenizer([PREFIX + normalise_tweet(t) for t in texts], truncation=True,
                              max_length=self.max_tokens)["input_ids"]

    def batches(self, texts: Sequence[str], batch_size: int) -> Iterator[tuple[list[int], dict[str, torch.Tensor]]]:
        """Yield (original indices, padded encodings), grouping texts of similar length."""
        ids = self.tokenize(texts)
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            enc = self.tokenizer.pad({"input_ids": [ids[i] for i in idx]}, return_tensors="pt", pad_to_multiple_of=16)
            yield idx, enc

    @torch.inference_mode()
    def encode_batch(self, enc: dict[str, torch.Tensor]) -> torch.Tensor:
        """Mean-pooled states of the chosen layers, concatenated, float32.

        Each chosen layer is pooled as soon as it has run (a forward hook), rather than asking for
        every layer's states at the end: that kept ~100 MB more resident at batch 64.
        """
        if self.int8 is not None:
            return torch.from_numpy(self.int8(enc["input_ids"].numpy(), enc["attention_mask"].numpy()))
        input_ids = enc["input_ids"].to(self.device)
        attention = enc["attention_mask"].to(self.device)
        mask = attention.unsqueeze(-1).to(torch.float32)
        denom = mask.sum(1)
        pooled: dict[int, torch.Tensor] = {}

        def pool_into(layer: int):  # noqa: ANN202 - a torch forward hook
            def hook(_module: torch.nn.Module, _inputs: object, output: torch.Tensor | tuple) -> None:
                states = output[0] if isinstance(output, tuple) else output
                pooled[layer] = (states.float() * mask).sum(1) / denom
            return hook

        hooks = [self.model.encoder.layer[layer - 1].register_forward_hook(pool_into(layer)) for layer in self.layers]
        try:
            self.model(input_ids=input_ids, attention_mask=attention)
        finally:
            for hook in hooks:
                hook.remove()
        return torch.cat([pooled[layer] for layer in self.layers], dim=-1).cpu()

    def pooled(self, out, attention: torch.Tensor) -> torch.Tensor:
        mask = attention.unsqueeze(-1).to(torch.float32)
        denom = mask.sum(1)
        pooled = [(out.hidden_states[layer].float() * mask).sum(1) / denom for layer in self.layers]
        return torch.cat(pooled, dim=-1)

    def encode(self, texts: Sequence[str], batch_size: int = 64, progress: bool = False) -> torch.Tensor:
        from tqdm import tqdm

        result = torch.empty(len(texts), self.dim)
        with tqdm(total=len(texts), disable=not progress, unit="text") as bar:
            for idx, enc in self.batches(texts, batch_size):
                result[idx] = self.encode_batch(enc)
                bar.update(len(idx))
        return result
