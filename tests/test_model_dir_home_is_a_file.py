"""The model cache (sentiment.paths) finds the data directory as the rest of mentiondesk does (monitor.paths): a
MENTIONDESK_HOME that is a file, or lies within one, is named as such (converting the model there failed with "cannot
lock …: Not a directory"), and a leading ~ is the home folder (it was a folder named "~" in the working directory)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor import paths as monitor_paths
from monitor.cli import cli
from monitor.errors import ConfigError
from sentiment import paths as sentiment_paths
from sentiment.errors import SettingError


@pytest.fixture
def home_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "afile"
    home.write_text("")
    monkeypatch.setenv("MENTIONDESK_HOME", str(home))
    monkeypatch.delenv("MENTIONDESK_MODEL_DIR")  # the model cache in the data directory, as by default
    return home


@pytest.mark.parametrize("below", ["", "data"])
def test_the_model_cache_says_the_data_directory_is_a_file(home_file: Path, monkeypatch: pytest.MonkeyPatch,
                                                           below: str) -> None:
    home = home_file / below if below else home_file
    monkeypatch.setenv("MENTIONDESK_HOME", str(home))
    with pytest.raises(SettingError) as refused:
        sentiment_paths.e5_model_dir()
    expected = (f"MENTIONDESK_HOME ({home}) is a file, not a folder" if home == home_file
                else f"MENTIONDESK_HOME ({home}): {home_file} is a file, not a folder")
    assert str(refused.value) == expected
    with pytest.raises(ConfigError) as refused_by_monitor:
        monitor_paths.data_dir()
    assert str(refused_by_monitor.value) == expected


def test_classify_says_so_in_one_line(home_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With a config file named, only the model needs the data directory."""
    pytest.importorskip("torch")
    import sentiment.api

    monkeypatch.setattr(sentiment.api, "_cache", {})  # loaded afresh, as by a new process: not one an earlier test left
    config = tmp_path / "mentiondesk.toml"
    config.write_text("[sentiment]\n", encoding="utf-8")
    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps({"text": "hello"}) + "\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["--config", str(config), "classify", "--input", str(source),
                                      "--output", str(tmp_path / "out.jsonl")])
    assert result.exit_code == 2, result.output
    assert result.output.splitlines()[-1] == f"Error: MENTIONDESK_HOME ({home_file}) is a file, not a folder"


def test_a_leading_tilde_is_the_home_folder_for_the_model_cache_too(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("MENTIONDESK_HOME", "~/mentiondesk")
    monkeypatch.delenv("MENTIONDESK_MODEL_DIR")
    assert sentiment_paths.models_dir() == tmp_path / "mentiondesk" / "models"
    assert monitor_paths.data_dir(create=False) == tmp_path / "mentiondesk"
