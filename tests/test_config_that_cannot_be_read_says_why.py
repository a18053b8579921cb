"""A config file that exists but cannot be read says why, as the secrets file does: a symbolic link loop said
only "config file loopa.toml cannot be read: OSError"."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from monitor.cli import cli


def test_a_link_loop_says_it_is_one(tmp_path: Path) -> None:
    (tmp_path / "loopa.toml").symlink_to(tmp_path / "loopb.toml")
    (tmp_path / "loopb.toml").symlink_to(tmp_path / "loopa.toml")
    result = CliRunner().invoke(cli, ["--config", str(tmp_path / "loopa.toml"), "status"])
    assert result.exit_code == 2
    assert result.output == f"Error: config file {tmp_path / 'loopa.toml'} cannot be read: " \
                            "Too many levels of symbolic links\n", result.output
