"""A MENTIONDESK_ variable set empty in the environment is unset, as everywhere else: it no longer hides the
secrets file's value, which sent mentiondesk quietly to the default SQLite database."""

from __future__ import annotations

from pathlib import Path

from monitor.config import Config

URL = "postgresql+psycopg://mentiondesk@db.example.com:5432/mentions"


def test_an_empty_environment_variable_leaves_the_secrets_files_value(tmp_path: Path) -> None:
    secrets = tmp_path / "mentiondesk.secrets"
    secrets.write_text(f"MENTIONDESK_DATABASE_URL={URL}\nMENTIONDESK_X_BEARER_TOKEN=from-the-file\n", encoding="utf-8")
    secrets.chmod(0o600)
    config = tmp_path / "mentiondesk.toml"
    config.write_text('secrets_file = "mentiondesk.secrets"\n[[brands]]\nname = "Acme"\nkeywords = ["acme"]\n'
                      "[connectors.x]\n", encoding="utf-8")
    loaded = Config.load(config, env={"MENTIONDESK_DATABASE_URL": "", "MENTIONDESK_X_BEARER_TOKEN": ""})
    assert loaded.database_url == URL and loaded.database_url_key == "MENTIONDESK_DATABASE_URL"
    assert loaded.connectors["x"].secrets["bearer_token"] == "from-the-file"
    other = "postgresql+psycopg://mentiondesk@other.example.com/mentions"  # a value set still wins
    assert Config.load(config, env={"MENTIONDESK_DATABASE_URL": other}).database_url == other
