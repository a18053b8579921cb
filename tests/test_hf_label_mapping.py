"""id2label that cannot be mapped: a 5-star model is told plainly that only 2- and 3-class sentiment models are
supported (it was told to fix its id2label, then any fix was refused), and labels not numbered 0..n-1 are a
LabelMappingError (a ModelNotAvailable), not a bare KeyError."""
from __future__ import annotations

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from sentiment import load_classifier  # noqa: E402
from sentiment.errors import LabelMappingError, ModelNotAvailable  # noqa: E402
from sentiment.hf_backend import map_labels  # noqa: E402
from tests.test_sentiment_hf import make_model  # noqa: E402

STARS = {i: f"{i + 1} star{'s' if i else ''}" for i in range(5)}


@pytest.mark.parametrize("id2label", [
    STARS,
    {0: "very negative", 1: "negative", 2: "neutral", 3: "positive", 4: "very positive"},
    {0: "negative", 1: "neutral", 2: "positive", 3: "mixed"},
    {0: "positive"},
])
def test_only_two_or_three_class_models_are_supported(id2label: dict[int, str]) -> None:
    with pytest.raises(LabelMappingError, match=rf"the model has {len(id2label)} labels .*: only 2- or 3-class "
                                                "sentiment models .* are supported"):
        map_labels(id2label)


def test_labels_not_numbered_from_0_are_a_clear_error() -> None:
    with pytest.raises(LabelMappingError, match=r"must be numbered 0 to 1 \(id2label in the model's config.json\)"):
        map_labels({0: "negative", 2: "positive"})
    assert map_labels({1: "positive", 0: "negative"}) == [0, 2]  # in any order


def test_a_five_star_model_is_refused_when_it_loads(tmp_path) -> None:
    model = make_model(tmp_path / "stars", STARS, [0.0, 0.0, 0.0, 0.0, 5.0])
    with pytest.raises(ModelNotAvailable, match="only 2- or 3-class sentiment models"):
        load_classifier("hf", model=str(model), precision="fp32")
