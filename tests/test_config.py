from pathlib import Path

import pytest
from click.testing import CliRunner

from connectors.base import Connector, FetchResult, Query
from monitor.cli import cli
from monitor.config import Config
from monitor.errors import ConfigError
from tests.connector_doubles import registered

BRAND = {"name": "Acme", "keywords": ["acme"]}


class NeedsToken(Connector):
    name = "needs-token"
    required_secrets = ("bearer_token",)

    def fetch(self, query: Query, cursor: str | None) -> FetchResult:
        return FetchResult([], None)


def load(data: dict, env: dict | None = None) -> Config:
    return Config.from_dict(data, env=env or {}, source="test.toml")


def test_example_config_written_by_init_loads(tmp_path: Path) -> None:
    path = tmp_path / "mentiondesk.toml"
    result = CliRunner().invoke(cli, ["--config", str(path), "init"])
    assert result.exit_code == 0, result.output
    config = Config.load(path, env={})
    assert [b.name for b in config.brands] == ["Acme"]
    assert [cc.name for cc in config.enabled_connectors()] == ["sample"]
    assert config.queries_for("sample")[0].exclude == ("acme bricks",)
    again = CliRunner().invoke(cli, ["--config", str(path), "init"])
    assert again.exit_code == 1 and "already exists" in again.output


def test_missing_file_says_how_to_create_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="mentiondesk init"):
        Config.load(tmp_path / "nope.toml", env={})


def test_invalid_toml_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[[brands]]\nname = \n")
    with pytest.raises(ConfigError, match="not valid TOML.*line 2"):
        Config.load(path, env={})


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"brands": [BRAND], "connectors": {"sample": {"poll_interval_seconds": "often"}}},
         "connectors.sample.poll_interval_seconds: Input should be a valid number"),
        ({"brands": [BRAND], "connectors": {"sample": {"pol_interval": 5}}},
         "connectors.sample.pol_interval: unknown key"),
        ({"brands": [{"name": "Acme"}], "connectors": {"sample": {}}},
         "brands[0]: Value error, a brand needs at least one of keywords, handles or queries"),
        ({"brands": [BRAND, BRAND], "connectors": {"sample": {}}}, "brands must have unique names; repeated: acme"),
        ({"connectors": {"sample": {}}}, "brands: required key is missing"),
        ({"brands": [BRAND], "connectors": {"myspace": {}}}, "connectors.myspace: unknown connector 'myspace'"),
        ({"brands": [{**BRAND, "connectors": ["x"]}], "connectors": {"sample": {}}},
         "brands[0].connectors: 'x' is not a configured connector"),
        ({"brands": [BRAND], "connectors": {"sample": {"enabled": False}}}, "every connector is disabled"),
        ({"brands": [BRAND], "connectors": {"sample": {}}, "alerts": {"targets": [{"name": "care"}]}},
         "alerts.targets[0] (care): set its apprise URL in the environment variable MENTIONDESK_ALERT_CARE_URL"),
        ({"brands": [BRAND], "connectors": {"sample": {}}, "alerts": {"rules": {"urgent": {"cooldown_minuts": 5}}}},
         "alerts.rules.urgent.cooldown_minuts: unknown key"),
    ],
)
def test_bad_settings_name_the_key_and_what_is_expected(data: dict, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        load(data)
    assert expected in str(info.value)


def test_secrets_come_from_the_environment_and_never_from_the_file() -> None:
    with registered(NeedsToken):
        data = {"brands": [BRAND], "connectors": {"needs-token": {}}}
        with pytest.raises(ConfigError, match="MENTIONDESK_NEEDS_TOKEN_BEARER_TOKEN in the environment"):
            load(data)
        config = load(data, env={"MENTIONDESK_NEEDS_TOKEN_BEARER_TOKEN": "s3cr3t-value"})
        connector = config.connectors["needs-token"].create()
        assert connector.secrets == {"bearer_token": "s3cr3t-value"}
        assert "s3cr3t-value" not in repr(config)

        leaked = {"brands": [BRAND], "connectors": {"needs-token": {"bearer_token": "s3cr3t-value"}}}
        with pytest.raises(ConfigError) as info:
            load(leaked)
        assert "MENTIONDESK_NEEDS_TOKEN_BEARER_TOKEN" in str(info.value)
        assert "s3cr3t-value" not in str(info.value)


def test_type_errors_do_not_echo_values() -> None:
    with pytest.raises(ConfigError) as info:
        load({"brands": [BRAND], "connectors": {"sample": {"seed": "hunter2-password-ish"}}})
    assert "connectors.sample.seed" in str(info.value)
    assert "hunter2" not in str(info.value)


def test_database_url_from_environment_wins() -> None:
    config = load({"brands": [BRAND], "connectors": {"sample": {}}, "database": {"url": "sqlite:///a.db"}},
                  env={"MENTIONDESK_DATABASE_URL": "sqlite:///b.db"})
    assert config.database_url == "sqlite:///b.db"


def test_handles_are_cleaned_of_at_and_u_prefixes() -> None:
    config = load({"brands": [{"name": "Acme Cloud", "handles": {"sample": "@acme", "x": "u/acme"}}],
                   "connectors": {"sample": {}}})
    assert config.brands[0].key == "acme-cloud"
    assert config.queries_for("sample")[0].handle == "acme"


def test_cli_bad_config_exits_2_with_the_key(tmp_path: Path) -> None:
    path = tmp_path / "mentiondesk.toml"
    path.write_text('[[brands]]\nname = "Acme"\nkeywords = ["acme"]\n[connectors.sample]\npage_size = "lots"\n')
    result = CliRunner().invoke(cli, ["--config", str(path), "poll", "--once"])
    assert result.exit_code == 2
    assert "connectors.sample.page_size" in result.output
    assert "Traceback" not in result.output


def _secrets_config(tmp_path: Path, mode: int) -> tuple[Path, Path]:
    secrets = tmp_path / "mentiondesk.secrets"
    secrets.write_text("# connector secrets\nMENTIONDESK_X_BEARER_TOKEN=from-the-file\n"
                       "MENTIONDESK_DATABASE_URL='sqlite:///" + str(tmp_path / "s.db") + "'\n", encoding="utf-8")
    secrets.chmod(mode)
    config = tmp_path / "mentiondesk.toml"
    config.write_text('secrets_file = "mentiondesk.secrets"\n[[brands]]\nname = "Acme"\nkeywords = ["acme"]\n'
                      '[connectors.x]\n', encoding="utf-8")
    return config, secrets


def test_a_0600_secrets_file_supplies_secrets_and_the_environment_wins(tmp_path: Path) -> None:
    config, _ = _secrets_config(tmp_path, 0o600)
    loaded = Config.load(config, env={})
    assert loaded.connectors["x"].secrets["bearer_token"] == "from-the-file"
    assert loaded.database_url == f"sqlite:///{tmp_path / 's.db'}"
    assert "from-the-file" not in repr(loaded)
    env = {"MENTIONDESK_X_BEARER_TOKEN": "from-the-environment"}
    assert Config.load(config, env=env).connectors["x"].secrets["bearer_token"] == "from-the-environment"


def test_a_secrets_file_others_can_read_is_refused_with_the_fix(tmp_path: Path) -> None:
    config, secrets = _secrets_config(tmp_path, 0o644)
    with pytest.raises(ConfigError) as refused:
        Config.load(config, env={})
    assert str(refused.value) == (f"secrets file {secrets} can be read by others (mode 0644); run `chmod 600 {secrets}` "
                                  "and make sure only the mentiondesk user owns it")
    assert "from-the-file" not in str(refused.value)
    secrets.chmod(0o600)
    secrets.write_text("OTHER_TOKEN=abc\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="OTHER_TOKEN is not a mentiondesk setting"):
        Config.load(config, env={})
    with pytest.raises(ConfigError, match=r"nowhere\.secrets cannot be read"):
        Config.load(config, env={"MENTIONDESK_SECRETS_FILE": str(tmp_path / "nowhere.secrets")})


def test_a_database_other_than_sqlite_or_postgresql_stops_start_up_with_exit_2(tmp_path: Path) -> None:
    config = tmp_path / "mentiondesk.toml"
    config.write_text('[database]\nurl = "mssql+pyodbc://app@db/mentions"\n[[brands]]\nname = "Acme"\nkeywords = ["acme"]\n'
                      '[connectors.sample]\n')
    result = CliRunner().invoke(cli, ["--config", str(config), "status"])
    assert result.exit_code == 2 and "not 'mssql'" in result.output
