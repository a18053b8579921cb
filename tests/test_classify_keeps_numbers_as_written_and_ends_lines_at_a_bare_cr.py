"""`mentiondesk classify` keeps every field of each line: a number as the input wrote it ("1e400" came back as
Infinity, which is not JSON, and "1E2" as 100.0); and a bare CR ends a line, as in editors and `import`
(a record ending in one was read with the next as one bad line, and later lines were numbered one lower)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.test_classify_read_errors import _classify


def _strict_json(line: str) -> dict:
    def refuse(constant: str) -> None:
        raise ValueError(f"{constant} is not JSON")

    return json.loads(line, parse_constant=refuse)


def test_numbers_are_written_back_as_the_input_wrote_them(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    src, out = tmp_path / "in.jsonl", tmp_path / "classified.jsonl"
    fields = ('"x": 1e400, "w": 1E2, "z": 0.10000000000000000555, "y": -0.0, '
              '"n": [{"f": 1.5e300, "big": 123456789012345678901234567890}]')
    src.write_text(f'{{"text": "my order", {fields}}}\n')
    result = _classify(monkeypatch, src, out)
    assert result.exit_code == 0, result.output
    line = out.read_text()
    assert line.startswith(f'{{"text": "my order", {fields}, "label": "negative", ')
    assert _strict_json(line)["label"] == "negative"  # JSON any reader takes


def test_a_bare_cr_ends_a_line_and_crlf_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    src, out = tmp_path / "in.jsonl", tmp_path / "classified.jsonl"
    src.write_bytes(b'{"id": 1, "text": "a"}\r\n{"id": 2, "text": "b"}\r{"id": 3, "text": "c"}\nnot json\n')
    result = _classify(monkeypatch, src, out)
    assert result.exit_code == 0, result.output
    assert f"{src}:4: skipped: not valid JSON" in result.output and "skipped 1 " in result.output
    assert [_strict_json(line)["id"] for line in out.read_text().splitlines()] == [1, 2, 3]
