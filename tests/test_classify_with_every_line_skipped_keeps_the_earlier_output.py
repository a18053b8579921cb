"""`mentiondesk classify` where every line is skipped (a file saved as UTF-16, say) fails, exit status 1 as
`evaluate` does, and leaves the earlier output as it was: it exited 0 having replaced it with an empty file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.test_classify_read_errors import EARLIER, _classify

LINES = "".join(json.dumps({"text": f"where is my order {n}?"}) + "\n" for n in range(3))


def test_a_file_in_another_encoding_leaves_the_earlier_output(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    src, out = tmp_path / "in.jsonl", tmp_path / "classified.jsonl"
    src.write_bytes(LINES.encode("utf-16"))
    out.write_text(EARLIER)
    result = _classify(monkeypatch, src, out)
    assert result.exit_code == 1, result.output
    assert f"Error: no line of {src} could be classified (" in result.output
    assert f" skipped): {out} was not written" in result.output
    assert out.read_text() == EARLIER and sorted(p.name for p in tmp_path.iterdir()) == ["classified.jsonl", "in.jsonl"]


def test_one_line_classified_among_skipped_ones_is_written(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    src, out = tmp_path / "in.jsonl", tmp_path / "classified.jsonl"
    src.write_text("not json\n" + LINES.splitlines(keepends=True)[0])
    result = _classify(monkeypatch, src, out)
    assert result.exit_code == 0, result.output
    assert "classified 1 line(s), skipped 1" in result.output and len(out.read_text().splitlines()) == 1
