"""`mentiondesk poll --connector nope` (without --once) reports the bad connector as `poll`'s: it printed the
usage of `mentiondesk poll run`, a command that does not exist, and told the user to try its --help."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.cli import cli


@pytest.mark.parametrize("once", [[], ["--once"]], ids=["run", "once"])
def test_a_bad_connector_is_reported_in_polls_own_usage(tmp_path: Path, once: list[str]) -> None:
    config = tmp_path / "mentiondesk.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "m.db"}"\n[[brands]]\nname = "Acme"\n'
                      'keywords = ["acme"]\n[sentiment]\nbackend = "none"\n[connectors.sample]\n')
    result = CliRunner().invoke(cli, ["--config", str(config), "poll", *once, "--connector", "nope"],
                                prog_name="mentiondesk")
    assert result.exit_code == 2
    assert result.output.startswith("Usage: mentiondesk poll [OPTIONS]\nTry 'mentiondesk poll --help' for help.\n")
    assert "Invalid value for --connector: 'nope' is not an enabled connector (enabled: sample)" in result.output
    assert not (tmp_path / "m.db").exists()  # refused before the database was opened
