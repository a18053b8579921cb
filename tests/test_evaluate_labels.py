"""`mentiondesk evaluate` reads gold labels in any case ("Positive", "NEGATIVE", as the hf backend reads a
model's labels: they were skipped) and scores "EN" and "en" as one language (they were two rows)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

pytest.importorskip("torch")
pytest.importorskip("transformers")

from sentiment.cli import evaluate_command  # noqa: E402
from tests import test_classify_uses_config_model as config_model  # noqa: E402

positive_model = config_model.positive_model  # the fixture: a model that calls every text positive


def test_gold_labels_in_any_case_and_languages_in_any_case(positive_model: str, tmp_path: Path) -> None:
    src = tmp_path / "gold.jsonl"
    src.write_text("\n".join(json.dumps(r) for r in [
        {"text": "good", "label": "Positive", "lang": "EN"},
        {"text": "awful", "label": "NEGATIVE", "lang": "en"},
        {"text": "great", "label": "positive", "lang": "es"},
        {"text": "meh", "label": "sideways", "lang": "es"},
    ]) + "\n")
    result = CliRunner().invoke(evaluate_command, ["--input", str(src), "--backend", "hf", "--model", positive_model])
    assert result.exit_code == 0, result.output
    assert ':4: skipped: "label" must be one of negative, neutral, positive (in any case)' in result.output
    assert "skipped" not in result.output.replace(":4: skipped", "")
    assert "n            3" in result.output and "accuracy     0.6667" in result.output
    table = result.output[result.output.index("lang "):].splitlines()
    assert [line.split()[:3] for line in table[1:] if line.strip()] == [["en", "2", "0.5000"], ["es", "1", "1.0000"]]
