"""Any Hugging Face sequence-classification model as a sentiment backend."""
from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from pathlib import Path

import torch

from sentiment.api import SentimentClassifier
from sentiment.errors import LabelMappingError, ModelNotAvailable, reason
from sentiment.labels import LABEL_INDEX, LABELS
from sentiment.runtime import MAX_TOKENS, check_max_tokens, prepare_model, resolve_precision, set_threads
from sentiment.text import normalise_tweet

_ALIASES = {"neg": "negative", "neu": "neutral", "pos": "positive", "negative": "negative",
            "neutral": "neutral", "positive": "positive"}


def map_labels(id2label: dict[int, str]) -> list[int]:
    """Column index into LABELS for every model output, from names such as
    "negative", "NEG", "Neutral", "positive"; generic "LABEL_0" names are refused
    because their meaning cannot be known, and so are models of other than 2 or 3 classes."""
    if sorted(id2label) != list(range(len(id2label))):  # each output column needs its name
        raise LabelMappingError(f"model labels {id2label} must be numbered 0 to {len(id2label) - 1} "
                                "(id2label in the model's config.json)")
    if len(id2label) not in (2, 3):  # e.g. 1-5 stars: no single column is "negative" or "positive"
        names = ", ".join(str(id2label[i]) for i in range(len(id2label)))
        raise LabelMappingError(f"the model has {len(id2label)} labels ({names}): "
                                "only 2- or 3-class sentiment models (negative, positive, and perhaps neutral) "
                                "are supported")
    columns = []
    for i in range(len(id2label)):
        name = re.sub(r"[^a-z]", "", str(id2label[i]).lower())
        if name not in _ALIASES:
            raise LabelMappingError(
                f"cannot map model label {id2label[i]!r} (id {i}) to negative/neutral/positive; "
                "set id2label in the model's config.json")
        columns.append(LABEL_INDEX[_ALIASES[name]])
    if len(set(columns)) != len(columns) or not {LABEL_INDEX["negative"], LABEL_INDEX["positive"]} <= set(columns):
        raise LabelMappingError(f"model labels {id2label} must name negative and positive once each")
    return columns


def _positions(model: torch.nn.Module) -> int | None:
    """How many tokens the model can read, where its config says (None where it does not): past that, a
    text crashed every batch it was in."""
    count = getattr(model.config, "max_position_embeddings", None)
    if not isinstance(count, int):
        return None
    table = getattr(getattr(model.base_model, "embeddings", None), "position_embeddings", None)
    # RoBERTa-style models number positions from just past the padding index: those below it are never read.
    if isinstance(table, torch.nn.Embedding) and table.padding_idx is not None:
        count -= table.padding_idx + 1
    return count


def _check_all_weights_loaded(name_or_path: str, model: torch.nn.Module, missing: Collection[str]) -> None:
    """A weight the model files lack starts random: a base model (BertModel, a sentence-transformers folder)
    loads as a classifier with a random head, and its id2label, where it names the sentiments, was accepted
    and every text scored at random."""
    if missing:
        names = sorted(missing)
        shown = ", ".join(names[:4]) + (f" and {len(names) - 4} more" if len(names) > 4 else "")
        architectures = ", ".join(getattr(model.config, "architectures", None) or ["not named"])
        raise ModelNotAvailable(
            f"Hugging Face model {name_or_path!r} is not a trained sequence classifier: its weights lack {shown}, "
            f"which would start random (its architecture: {architectures}; a base or embedding model has no "
            "classifier head)")


class HFClassifier(SentimentClassifier):
    def __init__(self, name_or_path: str, *, threads: int | None, max_tokens: int, precision: str) -> None:
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        check_max_tokens(max_tokens, MAX_TOKENS)
        set_threads(threads)
        resolved = resolve_precision(precision)
        if Path(name_or_path).is_dir() and not (Path(name_or_path) / "config.json").exists():
            raise ModelNotAvailable(f"{name_or_path} is a folder but not a Hugging Face model (no config.json)")
        # Any failure (not found, cut short, not this format, from another version) is one line saying which part.
        try:
            model, loading = AutoModelForSequenceClassification.from_pretrained(name_or_path, output_loading_info=True)
        except Exception as exc:
            raise ModelNotAvailable(f"cannot load Hugging Face model {name_or_path!r} (its config.json or "
                                    f"weights): {reason(exc)}") from exc
        _check_all_weights_loaded(name_or_path, model, loading["missing_keys"])
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(name_or_path)
        except Exception as exc:
            raise ModelNotAvailable(f"cannot load the tokenizer of Hugging Face model {name_or_path!r}: "
                                    f"{reason(exc)}") from exc
        self._check_vocabulary(name_or_path, getattr(model.config, "vocab_size", None))
        # Padding after the text, whatever the tokenizer was saved with: no position ids are passed, so a text
        # padded before (GPT-2 style tokenizers pad on the left) was read at positions shifted by its padding,
        # and its label changed with the longer texts batched with it.
        self.tokenizer.padding_side = "right"
        if self.tokenizer.pad_token is None:  # decoder models (GPT-2, Llama) have none: batches need one
            if self.tokenizer.eos_token is None:
                raise ModelNotAvailable(f"Hugging Face model {name_or_path!r} has no padding token, nor an "
                                        "end-of-text one to pad with: set pad_token in its tokenizer_config.json")
            self.tokenizer.pad_token = self.tokenizer.eos_token
        if model.config.pad_token_id is None:  # a decoder model reads the last token that is not padding
            model.config.pad_token_id = self.tokenizer.pad_token_id
        self.columns = map_labels({int(k): v for k, v in model.config.id2label.items()})
        self.max_tokens = min(max_tokens, self.tokenizer.model_max_length, _positions(model) or max_tokens)
        self.model = prepare_model(model.eval(), resolved)

    def _check_vocabulary(self, name_or_path: str, vocab_size: int | None) -> None:
        """A tokenizer whose vocabulary file is missing loads as its special tokens alone, and reads every
        text as [UNK]s: every text got the same answer."""
        size, special = len(self.tokenizer), len(set(self.tokenizer.all_special_ids))
        known = isinstance(vocab_size, int)
        if size <= special or (known and not vocab_size / 2 <= size <= vocab_size * 2):
            raise ModelNotAvailable(
                f"the tokenizer of Hugging Face model {name_or_path!r} has {size} tokens ({special} of them special)"
                f"{f' for a model of {vocab_size}' if known else ''}: its vocabulary (tokenizer.json, vocab.txt, "
                "...) is missing or not this model's")

    @torch.inference_mode()
    def probabilities(self, texts: Sequence[str], batch_size: int = 64) -> torch.Tensor:
        ids = self.tokenizer([normalise_tweet(t) for t in texts], truncation=True,
                             max_length=self.max_tokens)["input_ids"]
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        out = torch.zeros(len(texts), len(LABELS))
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            enc = self.tokenizer.pad({"input_ids": [ids[i] for i in idx]}, return_tensors="pt")
            logits = self.model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]).logits
            probs = torch.softmax(logits.float(), dim=-1)
            out[torch.tensor(idx).unsqueeze(1), torch.tensor(self.columns).unsqueeze(0)] = probs
        return out
