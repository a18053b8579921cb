"""A damaged model (a file cut short, bad JSON, a key from another version, a missing vocabulary) is the
documented one-line ModelNotAvailable naming the file and why, for `classify` and the `classify-pending` worker
alike: it was a traceback (SafetensorError, JSONDecodeError, TypeError), or, without a vocabulary, a model that
read every text as [UNK]s and answered the same for all."""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

pytest.importorskip("torch")
pytest.importorskip("transformers")

from monitor.cli import cli  # noqa: E402
from sentiment import head, load_classifier  # noqa: E402
from sentiment.errors import ModelNotAvailable  # noqa: E402
from sentiment.paths import ARTIFACT_DIR  # noqa: E402
from tests.test_sentiment_hf import make_model  # noqa: E402

LABELS3 = {0: "negative", 1: "neutral", 2: "positive"}
CONFIG_FILE, WEIGHTS_FILE, LAYERS_FILE = head.CONFIG_FILE, head.WEIGHTS_FILE, head.LAYERS_FILE


def _cut_short(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:3000])


def _edit_config(artifact: Path, **keys: object) -> None:
    path = artifact / CONFIG_FILE
    path.write_text(json.dumps({**json.loads(path.read_text()), **keys}))


@pytest.fixture
def artifact(tmp_path: Path) -> Path:
    copy = tmp_path / "artifact"
    shutil.copytree(ARTIFACT_DIR, copy)
    return copy


def test_an_hf_model_whose_weights_are_cut_short(tmp_path: Path) -> None:
    model = make_model(tmp_path / "model", LABELS3, [0.0, 0.0, 5.0])
    _cut_short(model / "model.safetensors")
    with pytest.raises(ModelNotAvailable, match=r"cannot load Hugging Face model .*model.* \(its config.json or "
                                                r"weights\): SafetensorError: ") as caught:
        load_classifier("hf", model=str(model), precision="fp32")
    assert caught.value.__cause__ is not None  # the library's own error kept, for a traceback on demand


def test_an_hf_model_whose_tokenizer_file_is_damaged(tmp_path: Path) -> None:
    model = make_model(tmp_path / "model", LABELS3, [0.0, 0.0, 5.0])
    (model / "tokenizer.json").write_text('{"version": ')
    with pytest.raises(ModelNotAvailable, match="cannot load the tokenizer of Hugging Face model"):
        load_classifier("hf", model=str(model), precision="fp32")


def test_an_hf_model_without_its_vocabulary_is_refused(tmp_path: Path) -> None:
    model = make_model(tmp_path / "model", LABELS3, [0.0, 0.0, 5.0])
    assert load_classifier("hf", model=str(model), precision="fp32")  # whole: loads
    broken = tmp_path / "no-vocabulary"
    shutil.copytree(model, broken)
    (broken / "tokenizer.json").unlink()  # left: config.json, the weights, tokenizer_config.json
    with pytest.raises(ModelNotAvailable, match=rf"tokenizer of Hugging Face model '{re.escape(str(broken))}' has "
                                                r"5 tokens \(5 of them special\) for a model of 17: its vocabulary .* "
                                                "is missing"):
        load_classifier("hf", model=str(broken), precision="fp32")


def test_a_tokenizer_of_another_model_is_refused(tmp_path: Path) -> None:
    from transformers import BertConfig, BertForSequenceClassification

    model = make_model(tmp_path / "model", LABELS3, [0.0, 0.0, 5.0])
    big = BertConfig(vocab_size=1000, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                     intermediate_size=64, num_labels=3, id2label=LABELS3)
    BertForSequenceClassification(big).save_pretrained(model)  # 1,000 tokens' weights beside a 17-token tokenizer
    with pytest.raises(ModelNotAvailable, match="has 17 tokens .* for a model of 1000"):
        load_classifier("hf", model=str(model), precision="fp32")


@pytest.mark.parametrize("damage, reason", [
    (lambda a: (a / CONFIG_FILE).write_text('{"layers": [2, 4'), f"{CONFIG_FILE}: JSONDecodeError: "),
    (lambda a: _edit_config(a, new_field=1), f"{CONFIG_FILE}: TypeError: .*unexpected keyword argument 'new_field'"),
    (lambda a: (a / CONFIG_FILE).write_text("[]"), f"{CONFIG_FILE}: TypeError: "),
    (lambda a: (a / CONFIG_FILE).write_bytes(b"\xff\xfe"), f"{CONFIG_FILE}: UnicodeDecodeError: "),
    (lambda a: _cut_short(a / WEIGHTS_FILE), f"{WEIGHTS_FILE}: SafetensorError: "),
    # weights of another shape than the config says
    (lambda a: _edit_config(a, mlp_size=8), f"{WEIGHTS_FILE}: RuntimeError: "),
])
def test_a_damaged_artifact_of_the_default_backend(artifact: Path, damage, reason: str) -> None:
    damage(artifact)
    with pytest.raises(ModelNotAvailable, match=f"cannot load {re.escape(str(artifact))}/{reason}") as caught:
        load_classifier("default", model=str(artifact), precision="fp32")  # fails before the base model loads
    assert caught.value.__cause__ is not None


def test_fine_tuned_layers_cut_short(artifact: Path) -> None:
    cfg = head.HeadConfig(**json.loads((artifact / CONFIG_FILE).read_text()))
    assert cfg.finetuned_layers  # the shipped artifact has them
    _cut_short(artifact / LAYERS_FILE)
    path = re.escape(str(artifact / LAYERS_FILE))
    with pytest.raises(ModelNotAvailable, match=f"cannot load {path}: SafetensorError: "):
        head.load_layer_weights(artifact, cfg)


def test_classify_and_the_worker_print_one_line(artifact: Path, tmp_path: Path) -> None:
    (artifact / CONFIG_FILE).write_text('{"layers": [2, 4')
    src = tmp_path / "in.jsonl"
    src.write_text('{"text": "good"}\n')
    classify = CliRunner().invoke(cli, ["classify", "--input", str(src), "--output", str(tmp_path / "out.jsonl"),
                                        "--model", str(artifact)])
    assert classify.exit_code == 1 and "Traceback" not in classify.output, classify.output
    assert f"Error: cannot load {artifact / CONFIG_FILE}: JSONDecodeError: " in classify.output

    model = make_model(tmp_path / "model", LABELS3, [0.0, 0.0, 5.0])
    _cut_short(model / "model.safetensors")
    config = tmp_path / "mentiondesk.toml"
    config.write_text('[[brands]]\nname = "Acme"\nkeywords = ["acme"]\n[connectors.sample]\n'
                      f'[database]\nurl = "sqlite:///{tmp_path / "db.sqlite"}"\n'
                      f'[sentiment]\nbackend = "hf"\nmodel = "{model}"\n')
    worker = CliRunner().invoke(cli, ["--config", str(config), "classify-pending"])
    assert worker.exit_code == 1, worker.output
    assert "SafetensorError: " in worker.output and "cannot load Hugging Face model" in worker.output
    assert "Traceback" not in worker.output
