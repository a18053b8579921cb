"""`max_tokens` takes one range everywhere: the models' check (sentiment.runtime.check_max_tokens, both backends),
the config's `[sentiment] max_tokens` and `classify --max-tokens`. The least is 3, the start token, one token of text
and the end token; the config asked for at least 8, so a value the command line and the API took was refused there."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import sentiment.cli
from monitor.cli import cli
from monitor.config import Config
from monitor.errors import ConfigError
from sentiment.errors import SettingError
from sentiment.runtime import check_max_tokens
from tests.classify_worker import SlowModel


def _models_take(tokens: int) -> bool:
    try:
        check_max_tokens(tokens, 512)  # the default model's positions
    except SettingError:
        return False
    return True


def _config_takes(tmp_path: Path, tokens: int) -> bool:
    config = tmp_path / "mentiondesk.toml"
    config.write_text(f'[[brands]]\nname = "Acme"\nkeywords = ["acme"]\n[connectors.sample]\n'
                      f"[sentiment]\nmax_tokens = {tokens}\n", encoding="utf-8")
    try:
        Config.load(config)
    except ConfigError as exc:
        assert "sentiment.max_tokens" in str(exc)
        return False
    return True


def _classify_takes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tokens: int) -> bool:
    loaded: list[Any] = []
    monkeypatch.setattr(sentiment.cli, "_load", lambda settings, source: loaded.append(settings) or SlowModel(0))
    monkeypatch.chdir(tmp_path)  # no config file here: the built-in settings and the option
    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps({"text": "hello"}) + "\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["classify", "--input", str(source), "--output", str(tmp_path / "out.jsonl"),
                                      "--max-tokens", str(tokens)])
    if result.exit_code == 2 and "Invalid value for '--max-tokens'" in result.output:
        return False
    assert result.exit_code == 0, result.output
    assert [settings.max_tokens for settings in loaded] == [tokens]
    return True


@pytest.mark.parametrize(("tokens", "valid"), [(2, False), (3, True), (7, True), (8, True), (512, True),
                                               (513, False)])
def test_the_config_and_classify_take_what_the_models_take(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           tokens: int, valid: bool) -> None:
    assert _models_take(tokens) == valid
    assert _config_takes(tmp_path, tokens) == valid
    assert _classify_takes(tmp_path, monkeypatch, tokens) == valid
