"""Any Hugging Face sequence-classification model as a sentiment backend."""
from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import torch

from sentiment.api import SentimentClassifier
from sentiment.errors import LabelMappingError, ModelNotAvailable
from sentiment.labels import LABEL_INDEX, LABELS
from sentiment.runtime import prepare_model, resolve_precision, set_threads
from sentiment.text import normalise_tweet

_ALIASES = {"neg": "negative", "neu": "neutral", "pos": "positive", "negative": "negative",
            "neutral": "neutral", "positive": "positive"}


def map_labels(id2label: dict[int, str]) -> list[int]:
    """Column index into LABELS for every model output, from names such as
    "negative", "NEG", "Neutral", "positive"; generic "LABEL_0" names are refused
    because their meaning cannot be known."""
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


class HFClassifier(SentimentClassifier):
    def __init__(self, name_or_path: str, *, threads: int | None, max_tokens: int, precision: str) -> None:
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        set_threads(threads)
        if Path(name_or_path).is_dir() and not (Path(name_or_path) / "config.json").exists():
            raise ModelNotAvailable(f"{name_or_path} is a folder but not a Hugging Face model (no config.json)")
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(name_or_path)
            model = AutoModelForSequenceClassification.from_pretrained(name_or_path)
        except (OSError, ValueError) as exc:  # not found, or found but not a usable model/tokenizer
            raise ModelNotAvailable(f"cannot load Hugging Face model {name_or_path!r}: {exc}") from exc
        if self.tokenizer.pad_token is None:  # decoder models (GPT-2, Llama) have none: batches need one
            if self.tokenizer.eos_token is None:
                raise ModelNotAvailable(f"Hugging Face model {name_or_path!r} has no padding token, nor an "
                                        "end-of-text one to pad with: set pad_token in its tokenizer_config.json")
            self.tokenizer.pad_token = self.tokenizer.eos_token
        if model.config.pad_token_id is None:  # a decoder model reads the last token that is not padding
            model.config.pad_token_id = self.tokenizer.pad_token_id
        self.columns = map_labels({int(k): v for k, v in model.config.id2label.items()})
        self.model = prepare_model(model.eval(), resolve_precision(precision))
        self.max_tokens = min(max_tokens, self.tokenizer.model_max_length)

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
