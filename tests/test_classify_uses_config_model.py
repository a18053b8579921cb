"""`mentiondesk classify` and `evaluate` use the model of the config's [sentiment] table, as `classify-pending`
does (they used the built-in one whatever the config said, so the two disagreed on the same text); options on
the command line win over the config, and the output says which model is used."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

import sentiment.api
from monitor.classify import MentionClassifier
from monitor.cli import cli
from monitor.config import Config
from tests.classify_worker import SlowModel

pytest.importorskip("torch")
pytest.importorskip("transformers")

from tests.test_sentiment_hf import make_model  # noqa: E402

BRANDS = '[[brands]]\nname = "Acme"\nkeywords = ["acme"]\n[connectors.sample]\n'
TEXT = "the service is great"


@pytest.fixture(scope="module")
def negative_model(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Calls everything negative, where the built-in model calls TEXT positive."""
    return str(make_model(tmp_path_factory.mktemp("hf") / "negative", {0: "negative", 1: "neutral", 2: "positive"},
                          [5.0, 0.0, 0.0]))


@pytest.fixture(scope="module")
def positive_model(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(make_model(tmp_path_factory.mktemp("hf") / "positive", {0: "negative", 1: "neutral", 2: "positive"},
                          [0.0, 0.0, 5.0]))


def _config(tmp_path: Path, sentiment: str) -> Path:
    path = tmp_path / "mentiondesk.toml"
    path.write_text(f"{BRANDS}[sentiment]\n{sentiment}\n")
    return path


def _classify(tmp_path: Path, *options: str, config: Path | None = None) -> tuple[Result, dict[str, Any] | None]:
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    src.write_text(json.dumps({"text": TEXT, "lang": "en"}) + "\n")
    out.unlink(missing_ok=True)
    group = ["--config", str(config)] if config else []
    result = CliRunner().invoke(cli, [*group, "classify", "--input", str(src), "--output", str(out), *options])
    return result, json.loads(out.read_text()) if out.exists() else None


def test_classify_agrees_with_the_classify_pending_worker(negative_model: str, tmp_path: Path) -> None:
    config = _config(tmp_path, f'backend = "hf"\nmodel = "{negative_model}"\nprecision = "fp32"')
    result, row = _classify(tmp_path, config=config)
    assert result.exit_code == 0, result.output
    loaded = Config.load(config)  # as `classify-pending` loads its model
    seen = MentionClassifier.load(loaded.sentiment, loaded.triage_rules).classifier.classify([TEXT], ["en"])[0]
    assert row is not None and (row["label"], row["score"]) == (seen.label, round(seen.score, 4))
    assert row["label"] == "negative"  # the built-in model calls TEXT positive
    assert row["intent"] == "complaint"
    assert f"model: the hf model {negative_model} (from [sentiment] of {config})" in result.output


def test_evaluate_scores_the_configured_model(negative_model: str, tmp_path: Path) -> None:
    config = _config(tmp_path, f'backend = "hf"\nmodel = "{negative_model}"')
    src = tmp_path / "gold.jsonl"
    src.write_text(json.dumps({"text": TEXT, "label": "negative"}) + "\n")
    result = CliRunner().invoke(cli, ["--config", str(config), "evaluate", "--input", str(src)])
    assert result.exit_code == 0, result.output
    assert "accuracy     1.0000" in result.output and f"model: the hf model {negative_model}" in result.output


def test_options_on_the_command_line_win_over_the_config(negative_model: str, positive_model: str,
                                                         tmp_path: Path) -> None:
    config = _config(tmp_path, f'backend = "hf"\nmodel = "{negative_model}"')
    result, row = _classify(tmp_path, "--model", positive_model, config=config)
    assert result.exit_code == 0 and row is not None and row["label"] == "positive", result.output
    assert f"model: the hf model {positive_model} (from --model and [sentiment] of {config})" in result.output
    result, row = _classify(tmp_path, "--backend", "hf", "--model", positive_model, config=config)
    assert result.exit_code == 0 and row is not None and row["label"] == "positive", result.output
    assert "(from --backend and --model)" in result.output


def _recorded(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    """load_classifier's arguments, answered by a stand-in model: no model need load."""
    calls: list[tuple[Any, ...]] = []

    def load(*args: Any) -> SlowModel:
        calls.append(args)
        return SlowModel(0)

    monkeypatch.setattr(sentiment.api, "load_classifier", load)
    return calls


def test_every_setting_of_the_sentiment_table_is_used_and_options_win(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _recorded(monkeypatch)
    config = _config(tmp_path, 'model = "/srv/artifact"\nthreads = 3\nmax_tokens = 64\nprecision = "int8"')
    assert _classify(tmp_path, config=config)[0].exit_code == 0
    assert _classify(tmp_path, "--threads", "1", "--max-tokens", "200", "--precision", "fp32", config=config
                     )[0].exit_code == 0
    # Another backend than the config's: the config's model names a model of its own backend, not this one.
    assert _classify(tmp_path, "--backend", "hf", config=config)[0].exit_code == 0
    assert calls == [("default", "/srv/artifact", 3, 64, "int8"), ("default", "/srv/artifact", 1, 200, "fp32"),
                     ("hf", None, 3, 64, "int8")]


def test_without_a_config_file_the_built_in_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _recorded(monkeypatch)
    monkeypatch.chdir(tmp_path)
    result, _ = _classify(tmp_path)
    assert result.exit_code == 0, result.output
    assert calls == [("default", None, None, 128, "auto")]
    assert "model: the default model (built in: no config file)" in result.output


def test_only_the_sentiment_table_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _recorded(monkeypatch)
    config = tmp_path / "x.toml"  # the X token is not set in this shell: the whole config would not load
    config.write_text(f'{BRANDS.replace("sample", "x")}[sentiment]\nmax_tokens = 100\n')
    assert _classify(tmp_path, config=config)[0].exit_code == 0
    assert calls == [("default", None, None, 100, "auto")]


@pytest.mark.parametrize("sentiment_table, message", [
    ('backend = "none"', 'backend is "none" in'),
    ('max_tokens = "many"', "sentiment.max_tokens: Input should be a valid integer"),
    ('modle = "x"', "sentiment.modle: unknown key"),
])
def test_a_sentiment_table_that_names_no_model_is_a_one_line_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                   sentiment_table: str, message: str) -> None:
    calls = _recorded(monkeypatch)
    result, row = _classify(tmp_path, config=_config(tmp_path, sentiment_table))
    assert result.exit_code == 2 and message in result.output and row is None, result.output
    assert calls == [] and "Traceback" not in result.output


def test_help_says_where_the_model_comes_from() -> None:
    for command in ("classify", "evaluate"):
        result = CliRunner().invoke(cli, [command, "--help"])
        assert result.exit_code == 0 and "[sentiment] backend" in result.output and "--max-tokens" in result.output
