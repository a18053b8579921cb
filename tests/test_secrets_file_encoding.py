"""A secrets file that is not UTF-8 is named with where its first bad byte is and what to do, as a config file is
(it said only "cannot be read: UnicodeDecodeError"), though not with the byte itself: it may be part of a secret.
One that starts with a BOM is still read."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.cli import cli
from monitor.config import Config


def _config_with_secrets(tmp_path: Path, secrets_bytes: bytes) -> tuple[Path, Path]:
    secrets = tmp_path / "mentiondesk.secrets"
    secrets.write_bytes(secrets_bytes)
    secrets.chmod(0o600)
    config = tmp_path / "mentiondesk.toml"
    config.write_text('secrets_file = "mentiondesk.secrets"\n[[brands]]\nname = "Acme"\nkeywords = ["acme"]\n'
                      '[connectors.x]\n', encoding="utf-8")
    return config, secrets


@pytest.mark.parametrize("bom", [b"", codecs.BOM_UTF8])
def test_a_secrets_file_in_another_encoding_is_named_with_the_bad_byte(tmp_path: Path, bom: bytes) -> None:
    head = bom + b"MENTIONDESK_X_BEARER_TOKEN=token\nMENTIONDESK_DATABASE_URL=sqlite:///caf"
    config, secrets = _config_with_secrets(tmp_path, head + "é.db\n".encode("latin-1"))
    result = CliRunner().invoke(cli, ["--config", str(config), "status"])
    assert result.exit_code == 2
    assert result.output == (f"Error: secrets file {secrets} is not UTF-8 (a byte at position {len(head)}, "
                             "line 2): save it as UTF-8\n")


def test_a_secrets_file_that_starts_with_a_bom_is_read(tmp_path: Path) -> None:
    config, _ = _config_with_secrets(tmp_path, codecs.BOM_UTF8 + b"MENTIONDESK_X_BEARER_TOKEN=from-the-file\n")
    assert Config.load(config, env={}).connectors["x"].secrets["bearer_token"] == "from-the-file"
