"""`mentiondesk classify` wrote the JSON number -0 back as 0 (only numbers with a fraction or exponent were kept
as written), and dropped a line that starts with two byte-order marks, as an empty file saved with one (Notepad's)
concatenated before a file that starts with one does."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.test_classify_read_errors import _classify


def test_negative_zero_is_written_back_as_the_input_wrote_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    src, out = tmp_path / "in.jsonl", tmp_path / "classified.jsonl"
    fields = '"delta": -0, "zero": 0, "n": [-0, -10, 7], "f": -0.0'
    src.write_text(f'{{"text": "my order", {fields}}}\n')
    result = _classify(monkeypatch, src, out)
    assert result.exit_code == 0, result.output
    assert out.read_text().startswith(f'{{"text": "my order", {fields}, "label": ')


def test_a_line_after_several_byte_order_marks_is_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    src, out = tmp_path / "in.jsonl", tmp_path / "classified.jsonl"
    bom = b"\xef\xbb\xbf"
    src.write_bytes(bom + bom + b'{"id": 1, "text": "first"}\n{"id": 2, "text": "second"}\n'
                    + bom + bom + bom + b'{"id": 3, "text": "third"}\n')
    result = _classify(monkeypatch, src, out)
    assert result.exit_code == 0, result.output
    assert "skipped" not in result.output
    assert [json.loads(line)["id"] for line in out.read_text(encoding="utf-8").splitlines()] == [1, 2, 3]
