"""A connector secret from the environment with a line break or space around it (a Kubernetes secret made from a
file ending in a newline, an env file saved with CRLF) is the secret without it, as one from the secrets file is:
every poll failed with "cannot reach Mastodon (Could not complete request)", naming no variable. One of nothing but
spaces is missing, as an empty one is."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from connectors.emulators import DEMO_BRAND, DEMO_MASTODON_USERNAME, DEMO_SECRETS, RunningEmulators
from monitor.cli import cli
from monitor.config import Config

TOKEN = DEMO_SECRETS["mastodon"]["access_token"]
VARIABLE = "MENTIONDESK_MASTODON_ACCESS_TOKEN"


def _config(tmp_path: Path, api_base_url: str, extra: str = "") -> Path:
    config = tmp_path / "mentiondesk.toml"
    config.write_text(f'{extra}[[brands]]\nname = "{DEMO_BRAND}"\nkeywords = ["{DEMO_BRAND}"]\n'
                      f'handles = {{ mastodon = "{DEMO_MASTODON_USERNAME}" }}\n'
                      f'[connectors.mastodon]\napi_base_url = "{api_base_url}"\nmax_retries = 0\n'
                      '[sentiment]\nbackend = "none"\n', encoding="utf-8")
    return config


@pytest.mark.parametrize("after", ["\n", "\r", "\r\n", " "])
def test_a_poll_with_a_line_break_after_the_token_reads_the_platform(tmp_path: Path, emulators: RunningEmulators,
                                                                     after: str) -> None:
    config = _config(tmp_path, emulators.mastodon_url)
    result = CliRunner().invoke(cli, ["--config", str(config), "poll", "--once"], env={VARIABLE: f"{TOKEN}{after}"})
    assert result.exit_code == 0, result.output
    assert "mastodon: ok" in result.output


@pytest.mark.parametrize("blank", [" ", "\n", "\r\n"])
def test_a_token_of_nothing_but_spaces_is_missing(tmp_path: Path, blank: str) -> None:
    config = _config(tmp_path, "https://mastodon.example")
    result = CliRunner().invoke(cli, ["--config", str(config), "status"], env={VARIABLE: blank})
    assert result.exit_code == 2, result.output
    assert f"connectors.mastodon: needs the secret(s) {VARIABLE} in the environment" in result.output


def test_a_token_of_nothing_but_spaces_leaves_the_secrets_files_value(tmp_path: Path) -> None:
    secrets = tmp_path / "mentiondesk.secrets"
    secrets.write_text(f"{VARIABLE}={TOKEN}\n", encoding="utf-8")
    secrets.chmod(0o600)
    config = _config(tmp_path, "https://mastodon.example", 'secrets_file = "mentiondesk.secrets"\n')
    assert Config.load(config, env={VARIABLE: "\n"}).connectors["mastodon"].secrets == {"access_token": TOKEN}


def test_a_quoted_value_in_the_secrets_file_keeps_its_spaces(tmp_path: Path) -> None:
    """The secrets file is read as dotenv reads it: quotes keep the spaces a password may have at its ends."""
    secrets = tmp_path / "mentiondesk.secrets"
    secrets.write_text(f'{VARIABLE}=" {TOKEN} "\n', encoding="utf-8")
    secrets.chmod(0o600)
    config = _config(tmp_path, "https://mastodon.example", 'secrets_file = "mentiondesk.secrets"\n')
    assert Config.load(config, env={}).connectors["mastodon"].secrets == {"access_token": f" {TOKEN} "}
