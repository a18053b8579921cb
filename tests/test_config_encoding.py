"""A config file that is not UTF-8 is named, with where the first bad byte is and what to do."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.cli import cli


@pytest.mark.parametrize("bom", [b"", codecs.BOM_UTF8])
def test_a_config_file_in_another_encoding_is_named_with_the_bad_byte(tmp_path: Path, bom: bytes) -> None:
    config = tmp_path / "mentiondesk.toml"
    head = bom + b'[[brands]]\nname = "Caf'
    config.write_bytes(head + 'é"\nkeywords = ["café"]\n'.encode("latin-1"))
    result = CliRunner().invoke(cli, ["--config", str(config), "status"])
    assert result.exit_code == 2
    assert result.output == (f"Error: config file {config} is not UTF-8 (byte 0xe9 at position {len(head)}, "
                             "line 2): save it as UTF-8\n")
