"""CPU runtime choices: thread count and numeric precision of the encoder.

Measured with bench/sentiment.py on 2-core CPUs: bf16 weights run about 3x faster than fp32
with the same validation accuracy on Xeons with AMX (676 vs 195 tweets/s on one host, 523 vs 182
on another), 2.6x on a Zen 5 EPYC with AVX512-BF16 and no AMX (355 vs 138); TweetEval
macro-recall 0.730-0.731 vs 0.732. bf16 is only fast where the CPU has AMX or AVX512-BF16;
elsewhere "auto" means fp32. "int8" is used only on request: the default backend then runs an
ONNX Runtime graph (sentiment/onnx_int8.py), the hf backend torch's dynamic quantisation; both
lose a little accuracy.
"""
from __future__ import annotations

import ctypes
import os
from typing import Literal

import torch

Precision = Literal["fp32", "bf16", "int8"]
PRECISIONS: tuple[str, ...] = ("auto", "fp32", "bf16", "int8")


def set_threads(threads: int | None) -> None:
    """Use `threads` intra-op threads (default: all cores, env MENTIONDESK_THREADS overrides)."""
    n = threads or int(os.environ.get("MENTIONDESK_THREADS", "0")) or os.cpu_count() or 1
    torch.set_num_threads(n)


def cpu_has_fast_bf16() -> bool:
    return bool(torch.cpu._is_amx_tile_supported() or torch.cpu._is_avx512_bf16_supported())


def resolve_precision(precision: str) -> Precision:
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    if precision == "auto":
        if torch.cuda.is_available():
            return "bf16"
        return "bf16" if cpu_has_fast_bf16() else "fp32"
    return precision  # type: ignore[return-value]


def prepare_model(model: torch.nn.Module, precision: Precision) -> torch.nn.Module:
    if precision == "bf16":
        return model.to(torch.bfloat16)
    if precision == "int8":
        return torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
    return model


def release_freed_memory() -> None:
    """Hand memory freed while loading back to the OS (glibc keeps it otherwise)."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except OSError:  # not glibc (macOS, musl): nothing to do
        pass
