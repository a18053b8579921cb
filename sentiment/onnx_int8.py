"""The e5 encoder as an int8 ONNX Runtime graph: the fast path on CPUs where it beats bf16/fp32.

Built once from the converted transformers folder and cached beside it: export the model
(truncated to the deepest layer the head reads, mean pooling of the chosen layers inside the
graph, each layer's massive-activation channel split off in float and its FFN inputs smoothed:
`prepare_for_int8`), fuse attention and GELU (as its tanh approximation) with ONNX Runtime's
transformer optimiser (not the residual LayerNorms: `UNFUSED`), smooth the fused attention nodes'
inputs (`smooth_attention_inputs`), then quantise the other matrix products to int8 (dynamic
quantisation, per-channel scales, 7-bit weights). The graph starts from word embeddings, looked
up outside from the packed 4-bit table (encoder.Q4Embedding), so it holds no fp32 copy of the
250k-row table: 15 MB instead of 381 MB on disk, and the worker's peak RSS fell from 1,515 to
1,149 MB. On a 2-core AVX2 EPYC (bench/sentiment.py, 2026-12-03) it ran 159 tweets/s against
fp32 PyTorch's 102, with TweetEval macro-recall 0.723 instead of 0.732 (before the float
channels, which brought it level with fp32: `prepare_for_int8`); per-tensor weight scales lost
more (0.696). torch's own dynamic quantisation was slower and lost more still.
"""
from __future__ import annotations

import argparse
import functools
import glob
import hashlib
import json
import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from sentiment.child import build_once
from sentiment.convert import SOURCE_MARKER, write_folder_atomically
from sentiment.errors import ModelNotAvailable
from sentiment.tokenizer import E5Tokenizer

if TYPE_CHECKING:
    from onnxruntime import SessionOptions
    from onnxruntime.transformers.onnx_model import OnnxModel

log = logging.getLogger(__name__)

GRAPH_FILE = "e5-features.int8.onnx"
# Part of the cache key: a graph built by an earlier version (other inputs or quantisation) is rebuilt.
GRAPH_VERSION = 8
# Residual add + LayerNorm stay two ops, both in the built graph and when ONNX Runtime optimises it
# at load (it would fuse them again): its fused SkipLayerNormalization took 19 % of the graph's time
# on a Zen 4 EPYC (profiled: 2.3 ms a call against 0.34 ms for a plain LayerNormalization of the
# same size), and without it the classifier's graph ran 471 tweets/s instead of 375 (2026-12-05,
# the same batches, five interleaved passes, the fastest counting).
UNFUSED = ("SkipLayerNormFusion",)
# Any text will do: the massive activations sit on <s> and </s>, in the same channel whatever the text.
CALIBRATION_TEXTS = ("query: Thanks, that fixed it.", "query: ¿Dónde está mi pedido?")
FLOAT_PART = "float_part"  # the split modules' attribute, so graph node, name of the products kept in float
# The products whose inputs are calibrated: per layer, each input channel's peak (`calibration_peaks`).
CALIBRATED: dict[str, Callable[[torch.nn.Module], torch.nn.Module]] = {
    "attention_in": lambda layer: layer.attention.self.query,  # key and value read the same input
    "ffn_in": lambda layer: layer.intermediate.dense,
    "ffn_out": lambda layer: layer.output.dense,
}
# SmoothQuant's migration strength: 0.3 and 0.75 agreed with fp32 less on the FFN inputs (see
# prepare_for_int8); on the attention inputs 0.2-0.5 did alike (see smooth_attention_inputs).
SMOOTHING_ALPHA = 0.5


def smoothing_scale(input_peaks: torch.Tensor, weight_peaks: torch.Tensor) -> torch.Tensor:
    """SmoothQuant's per-input-channel scale s (median 1): a product's input channel j divided by s_j
    and its weights for j multiplied by it give the same result, and s_j = peak of input j ^ alpha /
    peak of its weights ^ (1 - alpha) evens the inputs out, so that no one channel sets the per-batch
    activation scale alone, while the weights (quantised per output channel) stay within reach."""
    scale = input_peaks.clamp(min=1e-5) ** SMOOTHING_ALPHA / weight_peaks.clamp(min=1e-5) ** (1 - SMOOTHING_ALPHA)
    return scale / scale.median()


class _SplitIntermediate(torch.nn.Module):
    """BertIntermediate computed as two products: the channels in `float_channels`, and the rest,
    whose inputs are scaled per channel first (`input_peaks`: each input channel's largest value)."""

    def __init__(self, intermediate: torch.nn.Module, float_channels: list[int], input_peaks: torch.Tensor) -> None:
        super().__init__()
        w, b = intermediate.dense.weight.data, intermediate.dense.bias.data
        rest = [c for c in range(w.shape[0]) if c not in float_channels]
        # One input channel reaches 20-44 (the others under ~11, median ~1.8).
        scale = smoothing_scale(input_peaks, w[rest].abs().amax(0))
        self.int8_part = _linear(w[rest] * scale, b[rest])
        self.register_buffer("inv_scale", 1 / scale)
        self.float_part = _linear(w[float_channels], b[float_channels])
        self.act = intermediate.intermediate_act_fn

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.act(self.int8_part(x * self.inv_scale)), self.act(self.float_part(x))


class _SplitOutput(torch.nn.Module):
    """BertOutput's dense layer reading `_SplitIntermediate`'s two parts."""

    def __init__(self, dense: torch.nn.Linear, float_channels: list[int]) -> None:
        super().__init__()
        w = dense.weight.data
        rest = [c for c in range(w.shape[1]) if c not in float_channels]
        self.int8_part = _linear(w[:, rest], dense.bias.data)
        self.float_part = _linear(w[:, float_channels], None)

    def forward(self, parts: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        return self.int8_part(parts[0]) + self.float_part(parts[1])


def _linear(weight: torch.Tensor, bias: torch.Tensor | None) -> torch.nn.Linear:
    out = torch.nn.Linear(weight.shape[1], weight.shape[0], bias=bias is not None)
    out.weight.data = weight.clone()
    if bias is not None:
        out.bias.data = bias.clone()
    return out


def calibration_peaks(model: torch.nn.Module, tokenizer: E5Tokenizer) -> dict[str, list[torch.Tensor]]:
    """For each of CALIBRATED's products, per layer, each input channel's largest magnitude on
    CALIBRATION_TEXTS (one forward pass; call before `prepare_for_int8` rewrites the layers)."""
    batch = tokenizer.pad(tokenizer(CALIBRATION_TEXTS, max_length=model.config.max_position_embeddings))
    keep = batch["attention_mask"].bool()
    peaks: dict[tuple[str, int], torch.Tensor] = {}
    hooks = [module_of(layer).register_forward_hook(
        lambda _m, inputs, _o, key=(name, i): peaks.__setitem__(key, inputs[0][keep].abs().amax(0)))
        for name, module_of in CALIBRATED.items() for i, layer in enumerate(model.encoder.layer)]
    try:
        with torch.inference_mode():
            model(**batch)
    finally:
        for hook in hooks:
            hook.remove()
    return {name: [peaks[name, i] for i in range(len(model.encoder.layer))] for name in CALIBRATED}


def massive_channels(peaks: dict[str, list[torch.Tensor]]) -> list[int]:
    """Per layer, the FFN channel (GELU output) with the largest activation in `calibration_peaks`."""
    return [int(layer_peaks.argmax()) for layer_peaks in peaks["ffn_out"]]


def prepare_for_int8(model: torch.nn.Module, peaks: dict[str, list[torch.Tensor]]) -> None:
    """Rewrite each layer's FFN so that dynamic quantisation loses little; the float outputs stay the same.

    * **Massive-activation channel apart, in float.** e5 (like most transformers) has one FFN
      channel per layer where <s> and </s> reach 30-70 while the others stay under 6. Dynamic
      quantisation gives the FFN's second product one activation scale per batch, so that channel
      set it and every other value was rounded coarsely. Kept in float (two products of width 1
      per layer, ~3 % of the graph's time), the int8 graph's accuracy matched fp32
      (bench/sentiment.py, Zen 4 EPYC: TweetEval macro-recall 0.734 vs 0.732, XLM-T without hi
      0.684 vs 0.688; 0.724 and 0.676 before). Keeping the whole product in float did the same
      but ran 30 % slower.
    * **The first product's inputs smoothed** (`_SplitIntermediate`). Over the 4,583 validation
      texts (AMX Xeon, VNNI kernels, 2026-12-05) the shipped model's int8 labels agreed with fp32's
      on 4,441 before and 4,476 after (the whole product in float: 4,508, 28-34 % slower); XLM-T
      without hi 0.684 -> 0.687 (fp32 0.690), TweetEval 0.731 -> 0.732; no speed cost that shows
      (540 vs 546 and 510 vs 508 tweets/s, two runs interleaved in one process). Calibrated on
      the two CALIBRATION_TEXTS: in scratch builds 360 validation texts did no better (4,485),
      and alpha 0.3 and 0.75 agreed less (4,473 and 4,453).

    `peaks`: `calibration_peaks` of the model as it was. The attention's inputs are smoothed later,
    on the fused graph (`smooth_attention_inputs`).
    """
    layers = zip(model.encoder.layer, massive_channels(peaks), peaks["ffn_in"], strict=True)
    for layer, channel, ffn_in in layers:
        layer.output.dense = _SplitOutput(layer.output.dense, [channel])
        layer.intermediate = _SplitIntermediate(layer.intermediate, [channel], ffn_in)


def smooth_attention_inputs(graph: OnnxModel, input_peaks: list[torch.Tensor]) -> None:
    """SmoothQuant on the input of each fused Attention node (one per layer, in order), as
    `_SplitIntermediate` does for the FFN: the input multiplied by 1/s before the node, and the rows
    of its packed query/key/value weights (hidden x 3 hidden) by s.

    On the fused graph because the same multiply placed before the three products in PyTorch stops
    ONNX Runtime's optimiser recognising the attention: the graph kept 669 ops instead of 274, with
    no Attention node. e5's attention inputs are less uneven than the FFN's (the peak channel 5-12
    times the median one, against 17-44 on the calibration texts), and the gain is smaller: over the
    4,583 validation texts in three batchings (all texts at batch 64 and at 24, each set apart at
    64; AMX Xeon, VNNI kernels, 2026-12-05) the int8 labels agreed with fp32's on 4,482 and 4,487 on
    average for two builds without it (float rounding alone moves ~10 labels) and on 4,490 and 4,497
    for two builds with it (alpha 0.2: 4,494, 0.3: 4,505, 0.4: 4,497, 0.75: 4,490): every smoothed
    build above both others. Each set apart at 64, as bench/sentiment.py runs them: 4,476 before,
    4,494 now. No speed cost that shows: 653 vs 653 and 624 vs 622 tweets/s (the graphs before and
    after, interleaved in one process, two runs). Not kept: smoothing the input of the attention's
    output product too (its scale folded into the value weights, so free at run time; peak channel
    4-11 times the median): 4,489, no gain.
    """
    from onnx import helper, numpy_helper

    attentions = [node for node in graph.nodes() if node.op_type == "Attention"]
    if len(attentions) != len(input_peaks):
        raise RuntimeError(f"the fused graph has {len(attentions)} Attention nodes for {len(input_peaks)} layers")
    for i, (node, peaks) in enumerate(zip(attentions, input_peaks)):
        weights = graph.get_initializer(node.input[1])
        packed = torch.from_numpy(numpy_helper.to_array(weights).copy())
        scale = smoothing_scale(peaks, packed.abs().amax(1))
        weights.CopyFrom(numpy_helper.from_array((packed * scale[:, None]).numpy(), weights.name))
        inv_scale = f"attention_{i}_input_inv_scale"
        graph.add_initializer(numpy_helper.from_array((1 / scale).numpy(), inv_scale))
        smoothed = f"attention_{i}_smoothed_input"
        graph.add_node(helper.make_node("Mul", [node.input[0], inv_scale], [smoothed], name=f"attention_{i}_smooth"))
        node.input[0] = smoothed
    graph.topological_sort()


# What names a model folder's int8 graphs beside it: "<folder>-onnx-int8-<key>" (made and removed by its name).
_GRAPH_INFIX = "-onnx-int8-"


def _cache_key(folder: Path, layers: Sequence[int], layer_weights: dict | None) -> str:
    marker = (folder / SOURCE_MARKER).read_text() if (folder / SOURCE_MARKER).exists() else ""
    digest = hashlib.sha256(json.dumps([GRAPH_VERSION, marker, list(layers)]).encode())
    for name in sorted(layer_weights or {}):
        digest.update(name.encode())
        digest.update(layer_weights[name].float().numpy().tobytes())
    return digest.hexdigest()[:12]


def _graph_folder(folder: Path, layers: Sequence[int], layer_weights: dict | None) -> Path:
    return folder.with_name(f"{folder.name}{_GRAPH_INFIX}{_cache_key(folder, layers, layer_weights)}")


def remove_int8_graphs(folder: Path) -> None:
    """Every int8 graph built from `folder`, whatever its layers: `python -m sentiment.convert --force`."""
    for graph in folder.parent.glob(glob.escape(folder.name) + _GRAPH_INFIX + "*"):
        if graph.is_dir():
            shutil.rmtree(graph)


def int8_graph_buildable(folder: Path, layers: Sequence[int], layer_weights: dict | None = None) -> bool:
    """Whether the int8 graph for these layers is built, or can be built beside `folder`.

    A shared model cache may be read-only here: then only the graphs already in it serve (the
    first-use build stopped "auto" with a PermissionError, and the embedder on every read holding a
    complaint). Where one is missing, a warning, once per cache, says how to build them."""
    # Writable first: the graph's folder name hashes every fine-tuned layer's weights.
    if _writable(folder.parent) or (_graph_folder(folder, layers, layer_weights) / GRAPH_FILE).exists():
        return True
    _warn_unbuildable(folder.parent)
    return False


def _writable(models: Path) -> bool:
    return os.access(models, os.W_OK | os.X_OK)


@functools.cache
def _warn_unbuildable(models: Path) -> None:
    log.warning("%s cannot be written here and lacks an int8 graph: using a float precision where it is missing; "
                "to build them, run python -m sentiment.convert as a user who can write there", models)


def ensure_int8_graph(folder: Path, layers: Sequence[int], layer_weights: dict | None = None) -> Path:
    """Path of the cached int8 graph for these layers (and fine-tuned weights), built on first use
    in a child process (sentiment/child.py: building peaks at ~1.4 GB)."""
    target = _graph_folder(folder, layers, layer_weights)
    if not (target / GRAPH_FILE).exists():
        from safetensors.torch import save_file

        if not _writable(folder.parent):
            raise ModelNotAvailable(f"the int8 graph {target} is not built, and {folder.parent} cannot be written "
                                    "here: run python -m sentiment.convert as a user who can write there, "
                                    "or use a float precision")
        # In the system's temporary folder, not beside the graph: a build killed there left it.
        with tempfile.TemporaryDirectory() as scratch:
            args = ["--folder", str(folder), "--layers", ",".join(map(str, layers))]
            if layer_weights:
                save_file(layer_weights, f"{scratch}/layers.safetensors")
                args += ["--layer-weights", f"{scratch}/layers.safetensors"]
            build_once(target, (target / GRAPH_FILE).exists, "sentiment.onnx_int8", args, ModelNotAvailable,
                       f"building the int8 graph in {target}")
    if not (target / GRAPH_FILE).exists():
        raise ModelNotAvailable(f"the int8 graph build left no {GRAPH_FILE} in {target}")
    return target / GRAPH_FILE


def main(argv: list[str] | None = None) -> None:
    """The child process of ensure_int8_graph: builds the graph in this process."""
    from safetensors.torch import load_file

    ap = argparse.ArgumentParser(description="Build the int8 graph of e5's layers (run by ensure_int8_graph).")
    ap.add_argument("--folder", type=Path, required=True, help="the converted model folder")
    ap.add_argument("--layers", required=True, help="comma-separated layers the graph pools, e.g. 2,4,6,8")
    ap.add_argument("--layer-weights", type=Path, help="fine-tuned layer weights (safetensors)")
    args = ap.parse_args(argv)
    layers = [int(layer) for layer in args.layers.split(",")]
    layer_weights = load_file(str(args.layer_weights)) if args.layer_weights else None
    target = _graph_folder(args.folder, layers, layer_weights)
    write_folder_atomically(target, lambda tmp: _build(args.folder, layers, layer_weights, tmp))
    print(target / GRAPH_FILE)


def fused_float_graph(model: torch.nn.Module, layers: Sequence[int], scratch: Path) -> OnnxModel:
    """`model` (loaded with eager attention) pooling `layers`, exported to ONNX with attention and
    GELU fused by ONNX Runtime's transformer optimiser (not the residual LayerNorms: UNFUSED)."""
    from onnxruntime.transformers import optimizer
    from onnxruntime.transformers.fusion_options import FusionOptions

    from sentiment.encoder import PooledLayers

    embeds = torch.randn(2, 16, model.config.hidden_size)
    exported = scratch / "fp32.onnx"
    torch.onnx.export(
        PooledLayers(model, layers), (embeds, torch.ones(2, 16, dtype=torch.int64)), str(exported),
        input_names=["inputs_embeds", "attention_mask"], output_names=["features"], opset_version=17, dynamo=False,
        dynamic_axes={"inputs_embeds": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"},
                      "features": {0: "batch"}})
    options = FusionOptions("bert")
    options.enable_skip_layer_norm = options.enable_bias_skip_layer_norm = False  # see UNFUSED
    # GELU as its tanh approximation (FastGelu) instead of erf (BiasGelu): GELU took 15.6 % of the
    # graph's time (ONNX Runtime's profiler, AMX Xeon, 2026-12-05); approximated, the graph ran 2.7-3.2 %
    # faster (three runs, the two graphs interleaved in one process) and its labels agreed with fp32's
    # as often (4,499 of the 4,583 validation texts on average over three batchings, against 4,490).
    options.enable_gelu_approximation = True
    fused = optimizer.optimize_model(str(exported), model_type="bert", num_heads=model.config.num_attention_heads,
                                     hidden_size=model.config.hidden_size, opt_level=1, optimization_options=options)
    exported.unlink()
    return fused


def _build(folder: Path, layers: Sequence[int], layer_weights: dict | None, out: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import AutoModel

    # Built in a child process whose output is kept only on failure (ensure_int8_graph), so the
    # exporter's and quantiser's general advice never reaches a worker's log.
    model = AutoModel.from_pretrained(folder, add_pooling_layer=False, dtype=torch.float32,
                                      attn_implementation="eager")
    if layer_weights:
        model.load_state_dict({k: v.float() for k, v in layer_weights.items()}, strict=False)
    model.encoder.layer = model.encoder.layer[: max(layers)]
    peaks = calibration_peaks(model.eval(), E5Tokenizer.from_folder(folder))
    prepare_for_int8(model, peaks)
    graph = fused_float_graph(model, layers, out)
    smooth_attention_inputs(graph, peaks["attention_in"])
    fused = out / "fused.onnx"
    graph.save_model_to_file(str(fused))
    float_part = [node.name for node in graph.nodes() if f"/{FLOAT_PART}/" in node.name]
    # Per-channel weight scales: per-tensor ones cost the fine-tuned model 0.036 of TweetEval
    # macro-recall (0.696 vs 0.732 in fp32), per-channel ones 0.010, at the same speed.
    # Weights in -64..64 (`reduce_range`), not -127..127: on CPUs with AVX2 but no VNNI, ONNX
    # Runtime adds u8 x s8 products in pairs into 16 bits, which saturate past 32,767 (255 x 127 x 2
    # can reach 64,770; 255 x 64 x 2 cannot), so hosts with and without VNNI compute the same
    # integers. bench/int8_isa.py, 900 validation texts, AMX Xeon (2026-12-05): with AVX2 kernels,
    # labels agreeing with fp32's rose from 850 to 873 (the VNNI kernels': 876 with 8 bits, 872 with
    # 7), and labels agreeing between the two kernels from 844 to 895. With VNNI, where nothing
    # saturates, 7 bits were within noise of 8 on the full validation sets (TweetEval macro-recall
    # 0.727 vs 0.734, XLM-T average macro-F1 0.647 vs 0.639), at the same speed (435 tweets/s each,
    # interleaved in one process).
    quantize_dynamic(str(fused), str(out / GRAPH_FILE), weight_type=QuantType.QInt8, per_channel=True,
                     reduce_range=True, op_types_to_quantize=["MatMul", "Attention"], nodes_to_exclude=float_part,
                     extra_options={"DefaultTensorType": 1})  # 1 = float: types of fused-op outputs
    fused.unlink()


_shared_arena_lock = threading.Lock()
_shared_arena_registered = False


def _use_shared_arena(options: SessionOptions) -> None:
    """Have the session allocate its scratch memory from one CPU arena shared by every int8 graph in
    the process (registered with ONNX Runtime on first use), rather than from an arena of its own.

    Each session's own arena keeps its largest batch's scratch memory for good, so a worker held two
    (the classifier's graph and the embedding network's): 992 MB at peak over 60 calls mixed as the
    bench's are (here all with their language given) on a Zen 3 EPYC (2026-12-06). Handing it back after each call (ONNX Runtime's arena
    shrinkage, what the worker did until then) kept that at 774 MB, but each call's scratch pages
    were then faulted in afresh: in calls of 256 texts it classified 186 a second against 215 with
    the arena kept (and 182 with no arena at all). One shared arena, kept, peaked at 755 MB and
    classified 219 and 236 a second against 205 and 223 with shrinkage; with the triage and the
    incident candidates' embeddings, as classify-pending calls it, 139 and 143 against 130 and 129
    (each comparison interleaved in one process, the fastest of five passes).
    """
    import onnxruntime as ort

    global _shared_arena_registered
    with _shared_arena_lock:
        if not _shared_arena_registered:
            cpu = ort.OrtMemoryInfo("Cpu", ort.OrtAllocatorType.ORT_ARENA_ALLOCATOR, 0, ort.OrtMemType.DEFAULT)
            ort.create_and_register_allocator(cpu, ort.OrtArenaCfg(0, -1, -1, -1))  # ONNX Runtime's defaults
            _shared_arena_registered = True
    options.add_session_config_entry("session.use_env_allocators", "1")


class Int8Features:
    """Runs the cached int8 graph: word embeddings of padded token ids in, pooled features (float32) out."""

    def __init__(self, graph: Path, threads: int) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        _use_shared_arena(options)
        self.session = ort.InferenceSession(str(graph), options, providers=["CPUExecutionProvider"],
                                            disabled_optimizers=list(UNFUSED))

    def __call__(self, inputs_embeds: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        feeds = {"inputs_embeds": inputs_embeds.astype(np.float32, copy=False),
                 "attention_mask": attention_mask.astype(np.int64, copy=False)}
        return self.session.run(None, feeds)[0]


if __name__ == "__main__":
    main()
