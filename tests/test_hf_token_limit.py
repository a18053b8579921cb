"""The hf backend's token limit: `max_tokens` outside the README's 3-512 is a SettingError, as for the default
backend (0 and 2 were taken, -5 an OverflowError), and a text is cut to what the model can read: a model of
fewer positions than `max_tokens`, whose tokenizer names no length limit, crashed on every long text."""
from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from sentiment import load_classifier  # noqa: E402
from sentiment.errors import SettingError  # noqa: E402
from tests.test_sentiment_hf import make_model  # noqa: E402

LABELS3 = {0: "negative", 1: "neutral", 2: "positive"}
LONG = "the service is good " * 50  # 200 words


@pytest.fixture(scope="module")
def short_model(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(make_model(tmp_path_factory.mktemp("hf") / "short", LABELS3, [0.0, 0.0, 5.0], max_positions=16))


@pytest.mark.parametrize("max_tokens", [-5, 0, 2, 513])
def test_a_token_limit_out_of_range_is_a_setting_error(short_model: str, max_tokens: int) -> None:
    with pytest.raises(SettingError, match=rf"max_tokens must be within 3\.\.512 .*got {max_tokens}"):
        load_classifier("hf", model=short_model, max_tokens=max_tokens, precision="fp32")


def test_a_long_text_is_cut_to_the_models_positions(short_model: str) -> None:
    clf = load_classifier("hf", model=short_model, max_tokens=128, precision="fp32")
    assert clf.tokenizer.model_max_length > 10**6  # the tokenizer names no limit: the model's config does
    assert clf.max_tokens == 16
    assert [p.label for p in clf.classify([LONG, "good"], ["en", "en"])] == ["positive", "positive"]
    assert load_classifier("hf", model=short_model, max_tokens=5, precision="fp32").max_tokens == 5


def test_roberta_style_positions_start_past_the_padding_index(tmp_path) -> None:
    from transformers import RobertaConfig, RobertaForSequenceClassification

    folder = make_model(tmp_path / "roberta", LABELS3, [0.0, 0.0, 5.0])  # its tokenizer; pads with id 0
    config = RobertaConfig(vocab_size=17, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                           intermediate_size=64, num_labels=3, id2label=LABELS3, pad_token_id=0,
                           max_position_embeddings=18)
    RobertaForSequenceClassification(config).save_pretrained(folder)
    clf = load_classifier("hf", model=str(folder), precision="fp32")
    assert clf.max_tokens == 17  # positions 1..17 of 18: 0 is the padding one
    assert len(clf.classify([LONG], ["en"])) == 1
