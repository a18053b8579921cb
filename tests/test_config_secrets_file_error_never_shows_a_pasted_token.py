"""A secrets file line the config cannot use is named by its line number; what stands where a name should be is
shown only when it reads as a setting's name, never when it may be a token pasted on a line of its own."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.cli import cli
from monitor.config import Config
from monitor.errors import ConfigError

TOKEN = "AAAAAAAAAAAAAAAAAAAAAMLheAAAAAAA0%2BuSeid%2BULvsea4JtiGRiSDSJSI%3DEUifiRBkKG5E2XzMDjRfl76ZC9Ub0wnz4XsNiRVBCh"


def _config_with_secrets(tmp_path: Path, secrets_text: str) -> Path:
    secrets = tmp_path / "mentiondesk.secrets"
    secrets.write_text(secrets_text, encoding="utf-8")
    secrets.chmod(0o600)
    config = tmp_path / "mentiondesk.toml"
    config.write_text('secrets_file = "mentiondesk.secrets"\n[[brands]]\nname = "Acme"\nkeywords = ["acme"]\n'
                      "[connectors.sample]\n", encoding="utf-8")
    return config


@pytest.mark.parametrize(("secrets_text", "expected"), [
    # The value pasted on the line below its name: dotenv reads the token as a name with no value.
    (f"# X\n\nMENTIONDESK_X_BEARER_TOKEN=\n{TOKEN}\n", "line 4: its name is not a mentiondesk setting"),
    ("MENTIONDESK_X_BEARER_TOKEN=x\nghp_Zq81kd0AbCdEf1234567890abcdefGHIJ\n", "line 2: its name is not a mentiondesk"),
    # ":" for "=": dotenv's name runs to the first "=" or space, so the token is inside it.
    (f"MENTIONDESK_X_BEARER_TOKEN:{TOKEN}\n", "line 1: the setting has no value (write NAME=…)"),
    ('MENTIONDESK_X_BEARER_TOKEN="' + TOKEN + "\n", "line 1 cannot be read (write MENTIONDESK_NAME=value)"),
])
def test_a_token_where_a_name_should_be_is_not_shown_but_its_line_is(tmp_path: Path, secrets_text: str,
                                                                     expected: str) -> None:
    config = _config_with_secrets(tmp_path, secrets_text)
    with pytest.raises(ConfigError) as refused:
        Config.load(config, env={})
    assert expected in str(refused.value)
    for secret in (TOKEN, TOKEN[:20], "ghp_", "Zq81kd0"):
        assert secret not in str(refused.value)
    result = CliRunner().invoke(cli, ["--config", str(config), "status"], env={})
    assert result.exit_code == 2 and expected in result.output and TOKEN[:20] not in result.output


@pytest.mark.parametrize(("secrets_text", "expected"), [
    ("OTHER_TOKEN=abc\n", "line 1: OTHER_TOKEN is not a mentiondesk setting"),
    ("# comment\nMENTIONDESK_X_BEARER_TOKEN\n", "line 2: MENTIONDESK_X_BEARER_TOKEN has no value "
                                               "(write MENTIONDESK_X_BEARER_TOKEN=…)"),
])
def test_a_setting_name_is_still_shown(tmp_path: Path, secrets_text: str, expected: str) -> None:
    with pytest.raises(ConfigError, match=expected.replace("(", r"\(").replace(")", r"\)")):
        Config.load(_config_with_secrets(tmp_path, secrets_text), env={})
