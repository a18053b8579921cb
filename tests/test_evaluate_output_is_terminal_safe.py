"""`mentiondesk evaluate` shows the file's `lang` values and a repeated key's name terminal-safe, as the CLI shows
all untrusted text: a `lang` holding an escape sequence set the terminal's title or cleared the screen, a C1 control
(U+009B, a CSI of its own) reached stdout, and a bidi override in a key reordered the skip message."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

pytest.importorskip("torch")
pytest.importorskip("transformers")

from sentiment.cli import evaluate_command  # noqa: E402
from tests import test_classify_uses_config_model as config_model  # noqa: E402

positive_model = config_model.positive_model  # the fixture: a model that calls every text positive

# What a terminal acts on: C0 and C1 controls but the line break, and bidi overrides and isolates.
_ACTED_ON = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def test_languages_and_repeated_keys_are_shown_as_escapes(positive_model: str, tmp_path: Path) -> None:
    src = tmp_path / "gold.jsonl"
    rows = [{"text": "good", "label": "positive", "lang": "en"},
            {"text": "awful", "label": "negative", "lang": "\x1b]0;x\x07\x1b[2J"},  # sets the title, clears the screen
            {"text": "fine", "label": "neutral", "lang": "\x9b31m"}]
    src.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
                   + '{"text": "a", "label": "positive", "\u202ekey": 1, "\u202ekey": 2}\n', encoding="utf-8")
    result = CliRunner().invoke(evaluate_command, ["--input", str(src), "--backend", "hf", "--model", positive_model])
    assert result.exit_code == 0, result.output
    assert not _ACTED_ON.findall(result.stdout)
    skip = next(line for line in result.stderr.split("\r") if ":4: skipped" in line)  # between progress bars
    assert skip.endswith(':4: skipped: a JSON object names "\\u202ekey" more than once\n')
    table = [line for line in result.stdout[result.stdout.index("\nlang ") + 1:].splitlines() if line]
    assert [line[:8] for line in table] == ["lang    ", "\\u001b]…", "en      ", "\\u009b3…"]
    assert {len(line) for line in table} == {len(table[0])}  # the columns stay aligned
