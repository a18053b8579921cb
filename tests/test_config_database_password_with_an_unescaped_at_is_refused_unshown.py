"""An "@" left unescaped in a database URL's password is refused at start-up without showing any of the URL:
SQLAlchemy ended the password at the first "@" and took the rest of it for the host, which `status`, every
command's error and the displayed URL then showed."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.cli import cli
from monitor.config import Config
from monitor.errors import ConfigError

BAD_URL = "postgresql+psycopg://postgres:Pa55@Word9Secret@127.0.0.1:5432/test"
SAMPLE_ONLY = {"brands": [{"name": "Acme", "keywords": ["acme"]}], "connectors": {"sample": {}}}


@pytest.mark.parametrize("where", ["env", "config"])
def test_an_unescaped_at_in_the_password_is_refused_naming_the_setting_not_the_url(where: str) -> None:
    data = {**SAMPLE_ONLY, "database": {"url": BAD_URL}} if where == "config" else SAMPLE_ONLY
    env = {"MENTIONDESK_DATABASE_URL": BAD_URL} if where == "env" else {}
    with pytest.raises(ConfigError) as refused:
        Config.from_dict(data, env=env, source="test.toml")
    key = "MENTIONDESK_DATABASE_URL" if where == "env" else "database.url"
    assert str(refused.value) == (f"test.toml: {key}: the host holds an '@', so part of the password would be "
                                  "read as the host: write each '@' in the password as %40")


def test_status_refuses_it_with_exit_2_and_shows_no_part_of_the_password(tmp_path: Path) -> None:
    config = tmp_path / "mentiondesk.toml"
    config.write_text('[[brands]]\nname = "Acme"\nkeywords = ["acme"]\n[connectors.sample]\n', encoding="utf-8")
    result = CliRunner().invoke(cli, ["--config", str(config), "status"], env={"MENTIONDESK_DATABASE_URL": BAD_URL})
    assert result.exit_code == 2, result.output
    assert "Word9" not in result.output and "Pa55" not in result.output and "%40" in result.output


def test_the_escaped_at_is_the_password() -> None:
    url = "postgresql+psycopg://postgres:Pa55%40Word9Secret@127.0.0.1:5432/test"
    assert Config.from_dict(SAMPLE_ONLY, env={"MENTIONDESK_DATABASE_URL": url}).database_url == url
