"""CPU runtime choices: thread count and numeric precision of the encoder.

Measured with bench/sentiment.py on 2-core CPUs: bf16 weights run about 3x faster than fp32
with the same validation accuracy on Xeons with AMX (676 vs 195 tweets/s on one host, 523 vs 182
on another), 2.6x on a Zen 5 EPYC with AVX512-BF16 and no AMX (355 vs 138); TweetEval
macro-recall 0.730-0.731 vs 0.732. Which of bf16 and the int8 ONNX Runtime graph
(sentiment/onnx_int8.py) is faster depends on the core, not on its feature flags: bf16 won on the
AMX Xeon (523 vs 380) and the Zen 5 EPYC (438 vs 378), int8 on a Zen 4 EPYC with the same flags
as that Zen 5 (269-306 vs 190-218), and int8 beat fp32 on an AVX2 EPYC (159 vs 102). So the
default classifier's "auto" times both on first use and remembers the winner (`remembered`);
elsewhere (the hf backend, GPUs) "auto" is the fastest float (`float_precision`).
"""
from __future__ import annotations

import ctypes
import json
import logging
import os
import platform
import tempfile
from collections.abc import Callable, Collection
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from sentiment.errors import SettingError

if TYPE_CHECKING:
    import torch  # imported where used: the config reads the token limits below without the sentiment extra

# oneDNN (PyTorch's CPU kernels) keeps a compiled primitive per distinct matrix shape, up to 1,024
# by default. A worker classifying batches of every size and length kept adding them: in 60 calls
# of 1-256 mixed texts a bf16 worker grew to 888 MB resident (1,018 MB peak), against 742 (906)
# with 32 kept, at the same speed on tweets (AMX Xeon). Read when oneDNN first builds one, so setting
# it here, before any model runs, takes effect; a value set by the user wins.
os.environ.setdefault("ONEDNN_PRIMITIVE_CACHE_CAPACITY", "32")

Precision = Literal["fp32", "bf16", "int8"]
PRECISIONS: tuple[str, ...] = ("auto", "fp32", "bf16", "int8")

log = logging.getLogger(__name__)


# More threads than cores only slows the model; far more cannot even start (100,000 crashed the
# process: "can't start new thread", then a segmentation fault).
MAX_THREADS = 256


def set_threads(threads: int | None) -> None:
    """Use `threads` intra-op threads (default: the cores this process may run on, env MENTIONDESK_THREADS
    overrides)."""
    import torch

    if threads is not None and not 1 <= threads <= MAX_THREADS:
        raise SettingError(f"threads must be 1 to {MAX_THREADS}, got {threads}")
    env = os.environ.get("MENTIONDESK_THREADS", "").strip()
    # isdigit alone takes "²", which int() refuses; MENTIONDESK_THREADS is ASCII digits.
    if env and not (env.isascii() and env.isdigit() and 1 <= int(env) <= MAX_THREADS):
        raise SettingError(f"MENTIONDESK_THREADS must be a whole number of 1 to {MAX_THREADS}, got {env!r}")
    torch.set_num_threads(threads or int(env or 0) or usable_cores())


def usable_cores() -> int:
    """The cores this process may run on: under `taskset` or a container's cpuset (docker --cpuset-cpus)
    fewer than the host has, whose count gave more threads than cores (see MAX_THREADS)."""
    if hasattr(os, "sched_getaffinity"):  # Linux
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


# The tokens a text is read in, for both backends, the config's [sentiment] max_tokens and `--max-tokens`: at least
# the start token, one of text and the end token; at most the default model's positions (a model with fewer is cut
# to its own).
MIN_TOKENS, MAX_TOKENS = 3, 512


def check_max_tokens(max_tokens: int, limit: int) -> None:
    """A token limit from MIN_TOKENS to ``limit``, the model's positions: both backends."""
    if not MIN_TOKENS <= max_tokens <= limit:
        raise SettingError(f"max_tokens must be within {MIN_TOKENS}..{limit} (start token, text, end token), "
                           f"got {max_tokens}")


def cpu_has_fast_bf16() -> bool:
    import torch

    return bool(torch.cpu._is_amx_tile_supported() or torch.cpu._is_avx512_bf16_supported())


def float_precision() -> Precision:
    """The fastest float here: bf16 on a GPU or a CPU with AMX/AVX512-BF16, else fp32."""
    import torch

    return "bf16" if torch.cuda.is_available() or cpu_has_fast_bf16() else "fp32"


def resolve_precision(precision: str) -> Precision:
    """`precision` checked, with "auto" meaning `float_precision()`."""
    if precision not in PRECISIONS:
        raise SettingError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    return float_precision() if precision == "auto" else precision  # type: ignore[return-value]


# /proc/cpuinfo fields that tell CPU generations apart where the model name does not (cloud VMs
# report every AMD EPYC generation, Zen 1 to Zen 5, as "AMD EPYC"), and the instruction sets
# whose kernels decide which precision is fastest (a VM may hide some of its host's).
CPU_GENERATION_FIELDS = ("cpu family", "model", "CPU implementer", "CPU part")
SPEED_FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "avx_vnni", "amx_bf16", "amx_int8")


def cpu_model(cpuinfo: str | None = None) -> str:
    """The CPU as far as speed goes: its model name, generation and SPEED_FLAGS, from `cpuinfo`
    (the text of Linux's /proc/cpuinfo, read if not given); elsewhere what `platform` knows.

    The model name alone was not enough: a Zen 5 EPYC (bf16 fastest: 438 against 378 tweets/s)
    and a Zen 4 (int8 fastest: 437 against 269) are both "AMD EPYC" with the same flags, so a
    model directory shared by both, or baked into an image, would have run the Zen 4 at bf16."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text()
        except OSError:
            cpuinfo = ""
    fields: dict[str, str] = {}
    for line in cpuinfo.split("\n\n", 1)[0].splitlines():  # the first processor's block
        name, colon, value = line.partition(":")
        if colon:
            fields.setdefault(name.strip(), value.strip())
    generation = ", ".join(f"{field} {fields[field]}" for field in CPU_GENERATION_FIELDS if field in fields)
    flags = set(fields.get("flags", "").split())
    details = "; ".join(part for part in (generation, " ".join(f for f in SPEED_FLAGS if f in flags)) if part)
    name = fields.get("model name") or platform.processor() or platform.machine()
    return f"{name} ({details})" if details else name


def remembered(record: Path, key: str, options: Collection[str], measure: Callable[[], dict[str, float]]) -> str:
    """The fastest of `options` for `key` as written in the JSON file `record`; if the file has
    none (or not one of `options`), `measure` (option -> items/s) is called once and its winner
    written down with the rates."""
    try:
        choices = json.loads(record.read_text())
        if not isinstance(choices, dict):
            raise ValueError("not a JSON object")
    except FileNotFoundError:
        choices = {}
    except (OSError, ValueError) as exc:  # unreadable or corrupt: measure again, then rewrite it
        log.warning("ignoring %s: %s", record, exc)
        choices = {}
    entry = choices.get(key)
    if isinstance(entry, dict) and entry.get("fastest") in options:
        return entry["fastest"]
    if entry is not None:
        log.warning("ignoring %s's entry for %s: %r", record, key, entry)
    rates = measure()
    fastest = max(rates, key=rates.__getitem__)
    log.info("fastest here (%s): %s, items/s %s; remembered in %s", key, fastest,
             {k: round(v) for k, v in rates.items()}, record)
    choices[key] = {"fastest": fastest, "items_per_s": {k: round(v, 1) for k, v in rates.items()}}
    try:
        record.parent.mkdir(parents=True, exist_ok=True)
        # Workers starting together may both measure: each writes a whole file, the last one stays.
        with tempfile.NamedTemporaryFile("w", dir=record.parent, delete=False, suffix=".tmp") as tmp:
            json.dump(choices, tmp, indent=1)
        os.chmod(tmp.name, shared_modes()[1])  # 0600 as made: other users of a shared cache could not read it
        os.replace(tmp.name, record)
    except OSError as exc:  # a shared model cache may be read-only: the measured choice serves, measured anew next time
        log.warning("could not remember the fastest in %s (%s): using %s, timed again next start", record, exc, fastest)
    return fastest


def process_umask() -> int:
    """The process's umask, read where Linux shows it (/proc/self/status): setting it to read it back would apply,
    for that instant, to files other threads create. Elsewhere it is set and put back at once."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def shared_modes() -> tuple[int, int]:
    """(folder, file) modes for the model cache: readable by every user (0755, 0644) as far as the umask allows.
    A cache converted by one user is used by others (MENTIONDESK_MODEL_DIR); tempfile makes its folders 0700
    and files 0600, and safetensors writes 0600."""
    umask = process_umask()
    return 0o755 & ~umask, 0o644 & ~umask


def prepare_model(model: torch.nn.Module, precision: Precision) -> torch.nn.Module:
    import torch

    if precision == "bf16":
        return model.to(torch.bfloat16)
    if precision == "int8":
        return torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
    return model


def release_freed_memory() -> None:
    """Hand memory freed while loading back to the OS (glibc keeps it otherwise)."""
    global _rss_after_release
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except OSError:  # not glibc (macOS, musl): nothing to do
        return
    _rss_after_release = _resident_mb()


_rss_after_release = 0.0
#: How far resident memory may grow past what it was after the last release before the next.
GROWTH_BEFORE_RELEASE_MB = 64


def release_freed_memory_if_grown() -> None:
    """release_freed_memory, but only once resident memory has grown GROWTH_BEFORE_RELEASE_MB past
    what it was after the last release.

    Batches of ever-new shapes (classify-pending's calls vary in size and length) leave freed
    activations scattered through glibc's heap: a bf16 worker classifying 60 such calls grew to
    1,116 MB resident, and to 743 MB when released after each (AMX Xeon, before the oneDNN cap
    above). Releasing after every call bounds that, but costs 2-8 % of the speed of back-to-back
    calls (their pages are faulted in again), which repeat the same shapes and do not grow: so
    only when it has grown.
    """
    if _resident_mb() > _rss_after_release + GROWTH_BEFORE_RELEASE_MB:
        release_freed_memory()


def _resident_mb() -> float:
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError):  # no /proc (macOS): treat as never grown
        return 0.0
