"""HF backend from a local folder, label mapping, and the classify/evaluate CLI."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from click.testing import CliRunner  # noqa: E402

import sentiment.api  # noqa: E402
from sentiment import load_classifier  # noqa: E402
from sentiment.cli import classify_command, evaluate_command  # noqa: E402
from sentiment.errors import LabelMappingError, ModelNotAvailable, SettingError  # noqa: E402
from sentiment.hf_backend import map_labels  # noqa: E402

WORDS = ["good", "bad", "great", "awful", "the", "service", "is", "love", "hate", "it", "@user", "http"]


def make_model(folder: Path, id2label: dict[int, str], bias: list[float]) -> Path:
    """A tiny random BERT classifier whose output is decided by the classifier bias."""
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    vocab = folder / "vocab.txt"
    folder.mkdir(parents=True, exist_ok=True)
    vocab.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS]) + "\n")
    BertTokenizerFast(vocab_file=str(vocab)).save_pretrained(folder)
    config = BertConfig(vocab_size=len(WORDS) + 5, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=64, num_labels=len(id2label), id2label=id2label,
                        label2id={v: k for k, v in id2label.items()})
    torch.manual_seed(0)
    model = BertForSequenceClassification(config)
    with torch.no_grad():
        model.classifier.weight.zero_()
        model.classifier.bias.copy_(torch.tensor(bias))
    model.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def positive_model(tmp_path_factory: pytest.TempPathFactory) -> str:
    # Labels deliberately out of the usual order: the backend must map by name.
    return str(make_model(tmp_path_factory.mktemp("hf") / "model", {0: "POS", 1: "Negative", 2: "neutral"},
                          [5.0, 0.0, 0.0]))


def test_hf_backend_loads_local_folder_and_maps_labels(positive_model: str) -> None:
    clf = load_classifier("hf", model=positive_model, threads=1, precision="fp32")
    preds = clf.classify(["the service is good", "bad"], langs=["en", None])
    assert [p.label for p in preds] == ["positive", "positive"]
    assert preds[0].score == pytest.approx(preds[0].scores["positive"])
    assert sum(preds[0].scores.values()) == pytest.approx(1.0, abs=1e-5)
    assert preds[0].scores["positive"] > 0.9
    assert preds[0].lang == "en"
    assert load_classifier("hf", model=positive_model, threads=1, precision="fp32") is clf  # loaded once


def test_label_mapping() -> None:
    assert map_labels({0: "negative", 1: "neutral", 2: "positive"}) == [0, 1, 2]
    assert map_labels({0: "NEG", 1: "POS"}) == [0, 2]
    with pytest.raises(LabelMappingError, match="LABEL_0"):
        map_labels({0: "LABEL_0", 1: "LABEL_1", 2: "LABEL_2"})


def test_missing_hf_model_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ModelNotAvailable):
        load_classifier("hf", model=str(tmp_path / "nope"), precision="fp32")
    with pytest.raises(ModelNotAvailable, match="is a folder but not a Hugging Face model"):
        load_classifier("hf", model=str(tmp_path), precision="fp32")
    with pytest.raises(SettingError, match="unknown sentiment backend"):
        load_classifier("bogus")


def test_bad_thread_settings_are_clear_errors(positive_model: str, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(SettingError, match="threads must be 1 to 256, got -1"):
        load_classifier("hf", model=positive_model, threads=-1)
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"text": "fine"}) + "\n")
    monkeypatch.setattr(sentiment.api, "_cache", {})
    many = CliRunner().invoke(classify_command, ["--input", str(src), "--output", str(tmp_path / "out.jsonl"),
                                                 "--backend", "hf", "--model", positive_model, "--threads", "100000"])
    assert many.exit_code == 1 and "threads must be 1 to 256, got 100000" in many.output  # not a crash
    monkeypatch.setattr(sentiment.api, "_cache", {})  # the setting is read when a model loads
    for bad in ("abc", "-3", "0", "100000"):
        monkeypatch.setenv("MENTIONDESK_THREADS", bad)
        result = CliRunner().invoke(classify_command, ["--input", str(src), "--output", str(tmp_path / "out.jsonl"),
                                                       "--backend", "hf", "--model", positive_model])
        assert result.exit_code == 1
        assert f"MENTIONDESK_THREADS must be a whole number of 1 to 256, got '{bad}'" in result.output


def test_classify_cli_keeps_fields_and_skips_bad_lines(positive_model: str, tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_bytes("\ufeff".encode() + "\n".join([  # a byte-order mark, as some editors write
        json.dumps({"id": 1, "text": "the service is good", "author": "a"}),
        "{not json",
        json.dumps({"id": 3, "no_text": True}),
        json.dumps({"id": 4, "text": "why is it bad?", "lang": "en"}),
        json.dumps({"id": 5, "text": "broken \ud800 bytes, and \ud83d\ude00"}),  # JSON's surrogate escapes
        '{"id": 6, "text": "caf\udce9 in Latin-1"}',
        json.dumps({"id": 7, "text": " "}),  # a media-only post: nothing to read, but kept
    ]).encode("utf-8", "surrogateescape") + b"\n")
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(classify_command, ["--input", str(src), "--output", str(out), "--backend", "hf",
                                                   "--model", positive_model, "--threads", "1"])
    assert result.exit_code == 0, result.output
    assert ":2: skipped" in result.output and ":3: skipped" in result.output
    assert ":6: skipped: not UTF-8 (byte 0xe9 at position 22)" in result.output
    assert f"classified 4 line(s), skipped 3 -> {out}" in result.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in rows] == [1, 4, 5, 7]
    # This model calls everything positive; a text with nothing in it is neutral without asking it.
    assert (rows[3]["label"], rows[3]["score"], rows[3]["intent"]) == ("neutral", 1.0, "other")
    assert rows[2]["text"] == "broken \ud800 bytes, and \U0001f600"  # kept as it was read
    assert rows[0]["author"] == "a" and rows[1]["lang"] == "en"
    assert rows[0]["label"] == "positive" and 0.0 <= rows[0]["score"] <= 1.0
    assert rows[0]["intent"] == "praise" and rows[1]["intent"] == "question"


def test_classify_cli_never_replaces_a_lines_own_label_score_or_intent(positive_model: str, tmp_path: Path) -> None:
    src = tmp_path / "mentiondesk-labels.jsonl"  # human labels, as the dashboard downloads them
    src.write_text("\n".join(json.dumps(r) for r in [
        {"id": 1, "text": "awful", "sentiment": "negative", "intent": "complaint"},
        {"id": 2, "text": "bad", "label": "negative"},
        {"id": 3, "text": "good"},
    ]) + "\n")
    args = ["--input", str(src), "--backend", "hf", "--model", positive_model, "--threads", "1"]
    out = tmp_path / "out.jsonl"
    plain = CliRunner().invoke(classify_command, [*args, "--output", str(out)])
    assert plain.exit_code == 0, plain.output
    assert ':1: skipped: it has "intent" already' in plain.output and "--prefix" in plain.output
    assert ':2: skipped: it has "label" already' in plain.output
    assert [json.loads(line)["id"] for line in out.read_text().splitlines()] == [3]
    assert f"classified 1 line(s), skipped 2 -> {out}" in plain.output

    prefixed = CliRunner().invoke(classify_command, [*args, "--output", str(out), "--prefix", "model_"])
    assert prefixed.exit_code == 0 and "skipped" not in prefixed.output, prefixed.output
    first, second, _ = [json.loads(line) for line in out.read_text().splitlines()]
    assert (first["intent"], first["model_label"], first["model_intent"]) == ("complaint", "positive", "praise")
    assert (second["label"], second["model_label"]) == ("negative", "positive") and 0 < second["model_score"] <= 1

    replaced = CliRunner().invoke(classify_command, [*args, "--output", str(out), "--overwrite"])
    assert replaced.exit_code == 0 and "skipped" not in replaced.output, replaced.output
    assert [json.loads(line)["label"] for line in out.read_text().splitlines()] == ["positive"] * 3


def test_classify_cli_refuses_an_output_it_cannot_or_must_not_write(positive_model: str, tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"text": "fine"}) + "\n")
    args = ["--input", str(src), "--backend", "hf", "--model", positive_model]
    same = CliRunner().invoke(classify_command, [*args, "--output", str(src)])
    assert same.exit_code == 2 and "is the input file" in same.output
    assert json.loads(src.read_text()) == {"text": "fine"}  # not erased
    missing = CliRunner().invoke(classify_command, [*args, "--output", str(tmp_path / "no" / "out.jsonl")])
    assert missing.exit_code == 2 and "cannot write" in missing.output and "No such file or directory" in missing.output
    earlier = tmp_path / "earlier.jsonl"
    earlier.write_text('{"text": "an earlier run", "label": "neutral"}\n')
    no_model = CliRunner().invoke(classify_command, ["--input", str(src), "--output", str(earlier), "--backend", "hf",
                                                     "--model", str(tmp_path / "no-such-model")])
    assert no_model.exit_code == 1 and earlier.read_text() == '{"text": "an earlier run", "label": "neutral"}\n'


def test_surrogates_become_text_before_tokenizing() -> None:
    from sentiment.text import normalise_tweet

    assert normalise_tweet("bad \ud800 byte") == "bad \ufffd byte"
    assert normalise_tweet("pair \ud83d\ude00 and escaped \\ud83d\\ude00") == "pair \U0001f600 and escaped \U0001f600"
    assert normalise_tweet("@acme  see https://x.co/a  ") == "@user see http"


def test_evaluate_cli_prints_metrics(positive_model: str, tmp_path: Path) -> None:
    src = tmp_path / "gold.jsonl"
    src.write_text("\n".join(json.dumps(r) for r in [
        {"text": "good", "label": "positive"}, {"text": "great", "label": "positive"},
        {"text": "awful", "label": "negative"}, {"text": "it", "label": "neutral"},
        {"text": "bad", "label": "sideways"},
    ]) + "\n")
    result = CliRunner().invoke(evaluate_command, ["--input", str(src), "--backend", "hf", "--model", positive_model])
    assert result.exit_code == 0, result.output
    assert ":5: skipped" in result.output
    assert "accuracy     0.5000" in result.output          # 2 of 4 right (always "positive")
    assert "macro-recall 0.3333" in result.output
    assert "macro-F1     0.2222" in result.output          # F1(pos) = 2/3, others 0
    assert "\nlang " not in result.output                  # no language named: no table by language


def test_evaluate_cli_reads_the_dashboards_human_labels_and_scores_each_language(positive_model: str,
                                                                                  tmp_path: Path) -> None:
    src = tmp_path / "mentiondesk-labels.jsonl"  # as the dashboard downloads them (monitor.triage.training_examples)
    src.write_text("\n".join(json.dumps(r) for r in [
        {"id": 1, "lang": "es", "text": "genial", "sentiment": "positive", "intent": None},
        {"id": 2, "lang": "es", "text": "fatal", "sentiment": "negative", "intent": "complaint"},
        {"id": 3, "lang": "en", "text": "great", "sentiment": "positive", "intent": None},
        {"id": 4, "lang": None, "text": "hmm", "sentiment": "neutral", "intent": None},
        {"id": 5, "lang": "en", "text": "where?", "sentiment": None, "intent": "question"},  # intent only
    ]) + "\n")
    args = ["--input", str(src), "--backend", "hf", "--model", positive_model]
    result = CliRunner().invoke(evaluate_command, [*args, "--label-field", "sentiment"])
    assert result.exit_code == 0, result.output
    assert ':5: skipped: "sentiment" must be one of' in result.output
    assert "n            4" in result.output and "accuracy     0.5000" in result.output
    table = result.output[result.output.index("lang "):].splitlines()
    assert [line.split()[:3] for line in table[1:] if line.strip()] == [["-", "1", "0.0000"], ["en", "1", "1.0000"],
                                                        ["es", "2", "0.5000"]]
    unread = CliRunner().invoke(evaluate_command, args)  # the default field, "label", is not there
    assert unread.exit_code == 1 and "no valid labelled lines" in unread.output
