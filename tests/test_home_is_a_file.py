"""MENTIONDESK_HOME that is a file: `--help` still works, and a command that uses the data directory
says what is wrong in one line (every command failed with a bare "File exists")."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.cli import cli


@pytest.fixture
def home_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "afile"
    home.write_text("")
    monkeypatch.setenv("MENTIONDESK_HOME", str(home))
    monkeypatch.chdir(tmp_path)  # no ./mentiondesk.toml: the config would be the data directory's
    return home


@pytest.mark.parametrize("args", [["--help"], ["export", "--help"], ["run", "--help"]])
def test_help_works_whatever_the_data_directory_is(home_file: Path, args: list[str]) -> None:
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0 and "Usage:" in result.output, result.output


@pytest.mark.parametrize("args", [["status"], ["init"], ["export", "-o", "out.jsonl"]])
def test_a_command_that_uses_it_says_it_is_a_file(home_file: Path, args: list[str]) -> None:
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2
    assert result.output == f"Error: MENTIONDESK_HOME ({home_file}) is a file, not a folder\n"
    assert home_file.is_file()


def test_a_file_above_it_is_named(home_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MENTIONDESK_HOME", str(home_file / "data"))
    result = CliRunner().invoke(cli, ["status"])
    assert result.exit_code == 2
    assert result.output == f"Error: MENTIONDESK_HOME ({home_file / 'data'}): {home_file} is a file, not a folder\n"


def test_the_data_directory_is_made_only_where_it_is_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "new" / "home"
    monkeypatch.setenv("MENTIONDESK_HOME", str(home))
    monkeypatch.chdir(tmp_path)
    assert CliRunner().invoke(cli, ["export", "--help"]).exit_code == 0
    assert not home.exists()
    config = tmp_path / "mentiondesk.toml"  # names no database: the default one is kept in the data directory
    config.write_text('[[brands]]\nname = "Acme"\nkeywords = ["acme"]\n[sentiment]\nbackend = "none"\n'
                      "[connectors.sample]\n")
    result = CliRunner().invoke(cli, ["status"])
    assert result.exit_code == 0, result.output
    assert (home / "mentiondesk.db").is_file()
