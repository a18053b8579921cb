"""A bad line in a training or validation file (or a byte-order mark, which Notepad writes) stopped training with
"--hold-out-train: ..." and no file name, though no --hold-out-train was given. A byte-order mark is now read
past, a bad line is named PATH:LINE, and only a hold-out the train split cannot give is a --hold-out-train error."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from sentiment.data import XLMT_LANGS, DataFileError, read_set


def write_data(folder: Path) -> Path:
    folder.mkdir()
    names = ["semeval2017_4a_train", "tweeteval_val"] + [f"xlmt_{language}_{split}" for language in XLMT_LANGS
                                                          for split in ("train", "val")]
    for name in names:
        rows = [{"text": f"{name} row {i}", "label": label} for i, label in enumerate(("negative", "positive"))]
        (folder / f"{name}.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return folder


def test_a_byte_order_mark_is_no_part_of_the_first_row(tmp_path: Path) -> None:
    path = tmp_path / "set.jsonl"
    path.write_bytes(b'\xef\xbb\xbf{"text": "great", "label": "positive"}\r\n{"text": "bad", "label": "negative"}\n')
    labelled = read_set(path, default_lang="en")
    assert labelled.texts == ["great", "bad"] and labelled.labels == [2, 0] and labelled.langs == ["en", "en"]


@pytest.mark.parametrize("line, reason", [
    ('{"text": "great", "label": "positive"', "not valid JSON"),
    ('{"text": "great"}', '"label" must be one of negative, neutral, positive'),
    ('{"text": "great", "label": "pos"}', '"label" must be one of'),
    ('{"text": "great", "label": ["positive"]}', '"label" must be one of'),
    ('{"label": "positive"}', 'expected a JSON object with a string "text"'),
    ('["great", "positive"]', 'expected a JSON object with a string "text"'),
])
def test_a_bad_line_is_named_with_its_file_and_number(tmp_path: Path, line: str, reason: str) -> None:
    path = tmp_path / "set.jsonl"
    path.write_text(f'{{"text": "fine", "label": "neutral"}}\n\n{line}\n', encoding="utf-8")
    with pytest.raises(ValueError, match=f"^{re.escape(str(path))}:3: ") as raised:
        read_set(path)
    assert reason in str(raised.value)


def test_a_line_not_in_utf8_is_named(tmp_path: Path) -> None:
    path = tmp_path / "set.jsonl"
    path.write_bytes('{"text": "très bien", "label": "positive"}\n'.encode("latin-1"))
    with pytest.raises(ValueError, match=f"^{re.escape(str(path))}:1: not UTF-8"):
        read_set(path)


def test_training_names_the_bad_line_not_hold_out_train(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    from sentiment.train import main

    data = write_data(tmp_path / "data")
    bad = data / "xlmt_german_train.jsonl"
    bad.write_text(bad.read_text(encoding="utf-8") + '{"text": "kaputt", "label": "negativ"}\n', encoding="utf-8")
    with pytest.raises(SystemExit) as raised:
        main(["--data", str(data), "--out", str(tmp_path / "artifact"), "--mode", "head"])
    assert str(raised.value).startswith(f"{bad}:3: ") and "hold-out" not in str(raised.value)


def test_a_hold_out_larger_than_the_train_split_is_a_hold_out_train_error(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    from sentiment.train import main

    data = write_data(tmp_path / "data")
    with pytest.raises(SystemExit, match="^--hold-out-train: cannot hold out 5 rows"):
        main(["--data", str(data), "--out", str(tmp_path / "artifact"), "--mode", "head", "--hold-out-train", "5"])


def test_a_file_with_bare_cr_line_ends_is_read_as_editors_number_its_lines(tmp_path: Path) -> None:
    # Old Mac line ends: each CR ends a line, as `classify` and `import` read them.
    path = tmp_path / "old_mac.jsonl"
    path.write_bytes(b'{"text": "love it", "label": "positive"}\r{"text": "broken", "label": "negative"}\r'
                     b'{"text": "ok"}\r')
    with pytest.raises(DataFileError, match=r"old_mac\.jsonl:3: "):
        read_set(path)
    path.write_bytes(path.read_bytes().replace(b'{"text": "ok"}\r', b""))
    assert read_set(path).texts == ["love it", "broken"]
