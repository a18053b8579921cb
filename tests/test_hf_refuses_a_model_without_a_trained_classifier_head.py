"""A model folder that is not a sequence classifier (a base BertModel, as a sentence-transformers or embedding
model folder holds) loaded with a random classifier head: where its config.json named negative/neutral/positive
it was accepted and scored every text at random, and where it did not, the error advised setting id2label, which
led there. It is refused, naming the missing weights, before its labels are read."""
from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from sentiment import load_classifier  # noqa: E402
from sentiment.errors import LabelMappingError, ModelNotAvailable  # noqa: E402
from tests.test_sentiment_hf import make_model  # noqa: E402

LABELS3 = {0: "negative", 1: "neutral", 2: "positive"}


def make_base_model(folder: Path, id2label: dict[int, str] | None) -> Path:
    """The tiny BERT of make_model (its tokenizer and config) saved as a base model: no classifier weights."""
    from transformers import BertConfig, BertModel

    make_model(folder, id2label or LABELS3, [0.0, 0.0, 0.0])
    config = BertConfig.from_pretrained(folder)
    if id2label is None:  # a base model's config names no labels: transformers gives it LABEL_0, LABEL_1
        config = BertConfig(**{k: v for k, v in config.to_dict().items() if k not in ("id2label", "label2id")})
    BertModel(config).save_pretrained(folder)
    return folder


@pytest.mark.parametrize("id2label", [LABELS3, None], ids=["labels-named", "no-labels"])
def test_a_base_model_is_refused_for_its_missing_classifier_weights(tmp_path: Path,
                                                                    id2label: dict[int, str] | None) -> None:
    folder = make_base_model(tmp_path / "base", id2label)
    with pytest.raises(ModelNotAvailable) as refused:
        load_classifier("hf", model=str(folder), threads=1, precision="fp32")
    assert not isinstance(refused.value, LabelMappingError)  # not told to fix id2label
    message = str(refused.value)
    assert "is not a trained sequence classifier" in message
    assert "classifier.bias, classifier.weight" in message and "BertModel" in message


def test_a_trained_classifier_still_loads(tmp_path: Path) -> None:
    folder = make_model(tmp_path / "classifier", LABELS3, [0.0, 0.0, 5.0])
    clf = load_classifier("hf", model=str(folder), threads=1, precision="fp32")
    assert [p.label for p in clf.classify(["good"], ["en"])] == ["positive"]
