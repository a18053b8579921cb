"""HF backend from a local folder, label mapping, and the classify/evaluate CLI."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from click.testing import CliRunner  # noqa: E402

import sentiment.api  # noqa: E402
from monitor.cli import cli  # noqa: E402
from sentiment import load_classifier  # noqa: E402
from sentiment.api import Prediction  # noqa: E402
from sentiment.cli import classify_command, evaluate_command  # noqa: E402
from sentiment.errors import LabelMappingError, ModelNotAvailable, SettingError  # noqa: E402
from sentiment.hf_backend import map_labels  # noqa: E402

WORDS = ["good", "bad", "great", "awful", "the", "service", "is", "love", "hate", "it", "@user", "http"]


def make_model(folder: Path, id2label: dict[int, str], bias: list[float], *, max_positions: int = 512,
               readout: float = 0.0) -> Path:
    """A tiny random BERT classifier whose output is decided by the classifier bias; with `readout`, the
    standard deviation of random classifier weights, by the text too."""
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizer

    folder.mkdir(parents=True, exist_ok=True)
    # From the vocabulary itself: BertTokenizerFast(vocab_file=...) read no vocab.txt under transformers 5 and
    # built a tokenizer of the 5 special tokens alone, so every test text was [CLS] [UNK]... [SEP].
    BertTokenizer(vocab={word: i for i, word in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS])}
                  ).save_pretrained(folder)
    config = BertConfig(vocab_size=len(WORDS) + 5, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=64, num_labels=len(id2label), id2label=id2label,
                        label2id={v: k for k, v in id2label.items()}, max_position_embeddings=max_positions)
    torch.manual_seed(0)
    model = BertForSequenceClassification(config)
    with torch.no_grad():
        model.classifier.weight.normal_(0.0, readout)
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
    ids = clf.tokenizer(["the service is good", "awful"])["input_ids"]
    assert ids[0] != ids[1] and clf.tokenizer.unk_token_id not in ids[0] + ids[1]  # the words reach the model


def test_the_text_reaches_the_model(tmp_path: Path) -> None:
    model = make_model(tmp_path / "model", {0: "negative", 1: "neutral", 2: "positive"}, [0.0, 0.0, 0.0], readout=3.0)
    # Texts of as many words: read as [UNK]s (no vocabulary), each pair would be the same tokens.
    probabilities = load_classifier("hf", model=str(model), threads=1, precision="fp32").probabilities(
        ["good", "awful", "love it", "hate it"])
    assert not torch.equal(probabilities[0], probabilities[1]) and not torch.equal(probabilities[2], probabilities[3])


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
    # Refused as an option out of its range (since 2026-12-07, before the model loads), not a crash.
    assert many.exit_code == 2 and "'--threads': 100000 is not in the range 1<=x<=256" in many.output
    monkeypatch.setattr(sentiment.api, "_cache", {})  # the setting is read when a model loads
    for bad in ("abc", "-3", "0", "100000", "\u00b2", "\u0663"):  # "²" and Arabic-Indic 3 are digits to isdigit
        monkeypatch.setenv("MENTIONDESK_THREADS", bad)
        result = CliRunner().invoke(classify_command, ["--input", str(src), "--output", str(tmp_path / "out.jsonl"),
                                                       "--backend", "hf", "--model", positive_model])
        assert result.exit_code == 2, result.output  # a setting, as the README promises; 1 is for a model
        assert f"MENTIONDESK_THREADS must be a whole number of 1 to 256, got {bad!r}" in result.output
    through_the_group = CliRunner().invoke(cli, ["evaluate", "--input", str(src), "--backend", "hf", "--model",
                                                 positive_model])
    assert through_the_group.exit_code == 2 and "MENTIONDESK_THREADS must be" in through_the_group.output


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


def test_lines_json_cannot_read_are_skipped_and_the_rest_classified(positive_model: str, tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join([
        json.dumps({"id": 1, "text": "good", "label": "positive"}),
        '{"id": 2, "text": "deep", "label": "positive", "v": ' + "[" * 100_000 + "]" * 100_000 + "}",
        '{"id": 3, "text": "long", "label": "positive", "n": ' + "9" * 5000 + "}",
        json.dumps({"id": 4, "text": "great", "label": "positive"}),
    ]) + "\n")
    out = tmp_path / "out.jsonl"
    args = ["--input", str(src), "--backend", "hf", "--model", positive_model]
    classified = CliRunner().invoke(classify_command, [*args, "--output", str(out), "--prefix", "model_"])
    assert classified.exit_code == 0, classified.output
    assert ":2: skipped: JSON nested too deeply to read" in classified.output
    assert ":3: skipped: a JSON integer of more than 4300 digits" in classified.output
    assert [json.loads(line)["id"] for line in out.read_text().splitlines()] == [1, 4]
    evaluated = CliRunner().invoke(evaluate_command, args)
    assert evaluated.exit_code == 0 and "n            2" in evaluated.output, evaluated.output


def test_concatenated_files_each_starting_with_a_byte_order_mark_lose_no_line(positive_model: str,
                                                                            tmp_path: Path) -> None:
    part = "\ufeff" + json.dumps({"text": "good", "label": "positive"}) + "\n"
    src = tmp_path / "both.jsonl"
    src.write_text(part + part, encoding="utf-8")
    result = CliRunner().invoke(evaluate_command, ["--input", str(src), "--backend", "hf", "--model", positive_model])
    assert result.exit_code == 0 and "skipped" not in result.output and "n            2" in result.output, result.output


class FailsAfterAnswering:
    """Answers its first call, then fails (out of memory, say)."""

    def __init__(self) -> None:
        self.answered = False

    def classify(self, texts: list[str], langs: list[str | None], batch_size: int = 64) -> list[Prediction]:
        if self.answered:
            raise RuntimeError("model crashed")
        self.answered = True
        return [Prediction("neutral", 1.0, {"negative": 0.0, "neutral": 1.0, "positive": 0.0}, "en")] * len(texts)


def test_a_classify_that_fails_midway_leaves_the_earlier_output_as_it_was(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps({"text": f"line {n}"}) + "\n" for n in range(600)))  # two reads of 512
    earlier = tmp_path / "out.jsonl"
    earlier.write_text('{"text": "an earlier run", "label": "neutral"}\n')
    earlier.chmod(0o640)
    monkeypatch.setattr(sentiment.api, "load_classifier", lambda *args: FailsAfterAnswering())
    failed = CliRunner().invoke(classify_command, ["--input", str(src), "--output", str(earlier)])
    assert isinstance(failed.exception, RuntimeError)
    assert earlier.read_text() == '{"text": "an earlier run", "label": "neutral"}\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl", "out.jsonl"]  # no part file left
    src.write_text(json.dumps({"text": "one line"}) + "\n")
    done = CliRunner().invoke(classify_command, ["--input", str(src), "--output", str(earlier)])
    assert done.exit_code == 0, done.output
    assert json.loads(earlier.read_text())["label"] == "neutral" and earlier.stat().st_mode & 0o777 == 0o640


def test_classify_applies_the_triage_rules_of_the_config_file(positive_model: str, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"text": "Acme any update on order 1234", "lang": "en"}) + "\n")
    config = tmp_path / "elsewhere.toml"
    config.write_text('[[brands]]\nname = "Acme"\nkeywords = ["acme"]\n[connectors.sample]\n'
                      '[triage]\nquestion_phrases = ["any update"]\n')
    out = tmp_path / "out.jsonl"
    args = ["classify", "--input", str(src), "--output", str(out), "--backend", "hf", "--model", positive_model]
    monkeypatch.chdir(tmp_path)

    def intent(*options: str) -> str:
        result = CliRunner().invoke(cli, [*options, *args])
        assert result.exit_code == 0, result.output
        return json.loads(out.read_text())["intent"]

    assert intent() == "praise"  # no config file: the built-in rules
    assert intent("--config", str(config)) == "question"
    (tmp_path / "mentiondesk.toml").write_text(config.read_text())  # the default one, in the current folder
    assert intent() == "question"
    missing = CliRunner().invoke(cli, ["--config", str(tmp_path / "typo.toml"), *args])
    assert missing.exit_code == 2 and "typo.toml not found" in missing.output
    # Classifying a file needs only the rules: a config whose X token is not in this shell still serves.
    monkeypatch.delenv("MENTIONDESK_X_BEARER_TOKEN", raising=False)
    (tmp_path / "mentiondesk.toml").write_text(config.read_text().replace("[connectors.sample]", "[connectors.x]"))
    assert intent() == "question"


def test_posts_of_only_invisible_fillers_are_neutral_without_the_model(positive_model: str) -> None:
    clf = load_classifier("hf", model=positive_model, threads=1, precision="fp32")  # calls everything positive
    fillers = ["\u3164", "\u3164 \u3164\u3164", "\u115f\u1160", "\ufe0f", "\u034f", "\u200b\u3164"]
    preds = clf.classify([*fillers, "good \u3164"], langs=["en"] * (len(fillers) + 1))
    assert [(p.label, p.score) for p in preds[:-1]] == [("neutral", 1.0)] * len(fillers)
    assert preds[-1].label == "positive"


def make_decoder_model(folder: Path, *, eos: bool) -> Path:
    """A tiny random GPT-2 classifier whose tokenizer has no padding token (as GPT-2's has none), with or
    without an end-of-text token."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import GPT2Config, GPT2ForSequenceClassification, PreTrainedTokenizerFast

    vocab = {word: i for i, word in enumerate(["[UNK]", "<|endoftext|>", *WORDS])}
    tokenizer = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    PreTrainedTokenizerFast(tokenizer_object=tokenizer, unk_token="[UNK]",
                            **({"eos_token": "<|endoftext|>"} if eos else {})).save_pretrained(folder)
    labels = {0: "negative", 1: "neutral", 2: "positive"}
    config = GPT2Config(vocab_size=len(vocab), n_positions=64, n_embd=16, n_layer=1, n_head=2, num_labels=3,
                        id2label=labels, label2id={v: k for k, v in labels.items()})
    torch.manual_seed(0)
    GPT2ForSequenceClassification(config).save_pretrained(folder)
    return folder


def test_a_decoder_model_without_a_padding_token_pads_with_its_end_token(tmp_path: Path) -> None:
    clf = load_classifier("hf", model=str(make_decoder_model(tmp_path / "gpt2", eos=True)), threads=1,
                          precision="fp32")
    texts = ["love it", "the service is awful", "hate"]  # of different lengths: padded in one batch
    together = clf.probabilities(texts, batch_size=3)
    alone = torch.cat([clf.probabilities([text]) for text in texts])
    assert torch.allclose(together, alone, atol=1e-5)  # padding read as padding, not as the text's end


def test_a_model_with_neither_a_padding_nor_an_end_token_is_refused_at_load(tmp_path: Path) -> None:
    with pytest.raises(ModelNotAvailable, match="has no padding token, nor an end-of-text one"):
        load_classifier("hf", model=str(make_decoder_model(tmp_path / "gpt2", eos=False)), precision="fp32")
