"""A relative `[sentiment] model` folder in a config file is relative to that file's folder, as its `secrets_file`
is, and a leading ~ is the home folder: for the worker (`classify-pending`, `run`: Config.load) and for `classify`
and `evaluate` alike. It was taken from the working directory, so a worker started elsewhere (by systemd, say) did not
find it, or loaded another. An absolute path and a Hugging Face model name mean what they did, and so does a `--model`
on the command line: relative to the working directory."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import sentiment.cli
from monitor.cli import cli
from monitor.config import Config, sentiment_settings_in
from tests.classify_worker import SlowModel

HUB_NAME = "cardiffnlp/twitter-xlm-roberta-base-sentiment"


@pytest.fixture
def folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """The config file's folder, and another one to work in."""
    config_folder, elsewhere = tmp_path / "etc", tmp_path / "work"
    config_folder.mkdir()
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    return config_folder, elsewhere


def _config(folder: Path, sentiment_table: str) -> Path:
    path = folder / "mentiondesk.toml"
    path.write_text('[[brands]]\nname = "Acme"\nkeywords = ["acme"]\n[connectors.sample]\n'
                    f"[sentiment]\n{sentiment_table}\n", encoding="utf-8")
    return path


def _classify_model(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, config: Path, *options: str) -> str | None:
    """The model `classify` would load with this config file and these options."""
    loaded: list[Any] = []
    monkeypatch.setattr(sentiment.cli, "_load", lambda settings, source: loaded.append(settings) or SlowModel(0))
    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps({"text": "hello"}) + "\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["--config", str(config), "classify", "--input", str(source),
                                      "--output", str(tmp_path / "out.jsonl"), *options])
    assert result.exit_code == 0, result.output
    return loaded[0].model


def _every_reader(config: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> set[str | None]:
    return {Config.load(config).sentiment.model, sentiment_settings_in(config).model,
            _classify_model(monkeypatch, tmp_path, config)}


@pytest.mark.parametrize("written", ["artifact", "./artifact", "models/artifact", "../etc/artifact"])
def test_a_relative_artifact_folder_is_beside_the_config_file(folders: tuple[Path, Path], tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch, written: str) -> None:
    config_folder, _ = folders
    config = _config(config_folder, f'model = "{written}"')
    assert _every_reader(config, monkeypatch, tmp_path) == {str(config_folder / written)}


def test_a_relative_hf_model_folder_is_beside_the_config_file(folders: tuple[Path, Path], tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    config_folder, elsewhere = folders
    for folder in (config_folder, elsewhere):  # the one in the working directory is not the config's
        (folder / "my-model").mkdir()
    config = _config(config_folder, 'backend = "hf"\nmodel = "my-model"')
    assert _every_reader(config, monkeypatch, tmp_path) == {str(config_folder / "my-model")}
    config = _config(config_folder, 'backend = "hf"\nmodel = "./not-there"')  # a path, if not one that exists
    assert _every_reader(config, monkeypatch, tmp_path) == {str(config_folder / "not-there")}


@pytest.mark.parametrize(("table", "expected"), [
    (f'backend = "hf"\nmodel = "{HUB_NAME}"', HUB_NAME),
    ('model = "/srv/mentiondesk/artifact"', "/srv/mentiondesk/artifact"),
    ('model = "~/artifact"', "{home}/artifact"),
    ("", None),
    ('model = ""', ""),  # the built-in model, as no model is
])
def test_names_absolute_paths_and_the_home_folder(folders: tuple[Path, Path], tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch, table: str,
                                                                expected: str | None) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    config = _config(folders[0], table)
    assert _every_reader(config, monkeypatch, tmp_path) == {expected and expected.format(home=tmp_path)}


def test_a_model_on_the_command_line_is_relative_to_the_working_directory(folders: tuple[Path, Path], tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    config = _config(folders[0], 'model = "artifact"')
    assert _classify_model(monkeypatch, tmp_path, config, "--model", "mine") == "mine"
