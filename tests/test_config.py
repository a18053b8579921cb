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
        ({"brands": [BRAND, BRAND], "connectors": {"sample": {}}},
         "brands: Value error, brands must have unique names (compared by key: letters and digits, in lower case); "
         "repeated: acme"),
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
    private_folder = tmp_path / "private"
    private_folder.mkdir(mode=0o700)  # read as a file, a folder held no secrets at all
    with pytest.raises(ConfigError, match=r"private is not a file"):
        Config.load(config, env={"MENTIONDESK_SECRETS_FILE": str(private_folder)})


def test_a_database_other_than_sqlite_or_postgresql_stops_start_up_with_exit_2(tmp_path: Path) -> None:
    config = tmp_path / "mentiondesk.toml"
    config.write_text('[database]\nurl = "mssql+pyodbc://app@db/mentions"\n[[brands]]\nname = "Acme"\nkeywords = ["acme"]\n'
                      '[connectors.sample]\n')
    result = CliRunner().invoke(cli, ["--config", str(config), "status"])
    assert result.exit_code == 2 and "not 'mssql'" in result.output


def _status(config: Path, env: dict | None = None):
    return CliRunner().invoke(cli, ["--config", str(config), "status"], env=env)


SAMPLE_ONLY = '[[brands]]\nname = "Acme"\nkeywords = ["acme"]\n[connectors.sample]\n'


FINITE = "Input should be a finite number"
AT_LEAST_1 = "Input should be greater than or equal to 1"


@pytest.mark.parametrize(
    ("connectors", "expected"),
    [
        # schedule loops forever on an interval of 0 or below; nan and inf raise inside it; 1e300 overflows.
        ({"sample": {"poll_interval_seconds": 0}}, "sample.poll_interval_seconds: Input should be greater"),
        ({"sample": {"poll_interval_seconds": -5}}, "sample.poll_interval_seconds: Input should be greater"),
        ({"sample": {"poll_interval_seconds": float("nan")}}, f"sample.poll_interval_seconds: {FINITE}"),
        ({"sample": {"poll_interval_seconds": float("inf")}}, f"sample.poll_interval_seconds: {FINITE}"),
        ({"sample": {"poll_interval_seconds": 1e300}}, "sample.poll_interval_seconds: Input should be less than"),
        ({"sample": {"timeout_seconds": -1}}, "sample.timeout_seconds: Input should be greater than 0"),
        ({"sample": {"timeout_seconds": float("inf")}}, f"sample.timeout_seconds: {FINITE}"),
        ({"sample": {"daily_read_cap": -3}}, f"sample.daily_read_cap: {AT_LEAST_1}"),
        # A cap of 0 blocks every poll, billable or not: that is enabled = false.
        ({"sample": {"daily_read_cap": 0}}, f"sample.daily_read_cap: {AT_LEAST_1}"),
        ({"sample": {"max_pages_per_poll": 0}}, f"sample.max_pages_per_poll: {AT_LEAST_1}"),
        ({"sample": {"page_size": 0}}, f"sample.page_size: {AT_LEAST_1}"),
        ({"sample": {"delay_seconds": -1}}, "sample.delay_seconds: Input should be greater than or equal to 0"),
        ({"rss": {"feeds": ["https://example.com/feed"], "request_timeout_seconds": float("inf")}},
         f"rss.request_timeout_seconds: {FINITE}"),
        # A reply's request must give up long before a person may resolve it as not posted (10 minutes).
        ({"x": {"request_timeout_seconds": 3600}},
         "x.request_timeout_seconds: Input should be less than or equal to 120"),
        ({"bluesky": {"overlap_seconds": 1e300, "enabled": False}, "sample": {}},
         "bluesky.overlap_seconds: Input should be less than"),
    ],
)
def test_connector_numbers_that_would_hang_or_break_polling_are_refused(connectors: dict, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        load({"brands": [BRAND], "connectors": connectors})
    assert f"connectors.{expected}" in str(info.value)


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        ({"sla": {"tiers": [{"name": "all", "min_priority": 0, "target_minutes": float("inf")}]}},
         f"sla.tiers[0].target_minutes: {FINITE}"),
        ({"auth": {"lockout_seconds": 1e300}}, "auth.lockout_seconds: Input should be less than"),
        ({"incidents": {"window_minutes": float("nan")}}, f"incidents.window_minutes: {FINITE}"),
        ({"check_ins": {"after_days": 90}}, "check_ins.after_days: Input should be less than or equal to 60"),
        ({"retention": {"raw_payload_days": 10**9}}, "retention.raw_payload_days: Input should be less than"),
    ],
)
def test_durations_that_overflow_are_refused(table: dict, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        load({"brands": [BRAND], "connectors": {"sample": {}}, **table})
    assert expected in str(info.value)


def test_status_refuses_a_poll_interval_run_would_hang_on(tmp_path: Path) -> None:
    config = tmp_path / "mentiondesk.toml"
    config.write_text(SAMPLE_ONLY + "poll_interval_seconds = -5\n")
    result = _status(config)
    assert result.exit_code == 2, result.output
    assert "connectors.sample.poll_interval_seconds" in result.output and "every -5s" not in result.output


@pytest.mark.parametrize(
    ("connectors", "keys"),
    [
        ({"rss": {"feeds": ["ftp://a", "not a url"]}}, ["connectors.rss.feeds[0]", "connectors.rss.feeds[1]"]),
        ({"hackernews": {"api_base_url": "javascript:alert(1)"}}, ["connectors.hackernews.api_base_url"]),
        ({"reddit": {"oauth_url": "oauth.reddit.com", "reddit_url": "https://"}},
         ["connectors.reddit.oauth_url", "connectors.reddit.reddit_url"]),
        ({"mastodon": {"api_base_url": "https://mastodon.social:port"}}, ["connectors.mastodon.api_base_url"]),
        ({"bluesky": {"api_base_url": "https://bsky.social /xrpc"}}, ["connectors.bluesky.api_base_url"]),
        ({"x": {"api_base_url": "file:///etc/passwd"}}, ["connectors.x.api_base_url"]),
    ],
)
def test_urls_connectors_fetch_must_be_http_with_a_host(connectors: dict, keys: list[str]) -> None:
    with pytest.raises(ConfigError) as info:
        load({"brands": [BRAND], "connectors": connectors})
    for key in keys:
        assert f"{key}: Value error, must be an http:// or https:// URL with a host" in str(info.value)
    assert not any(url in str(info.value) for url in ("ftp://a", "javascript", "oauth.reddit.com", "/etc/passwd"))


def test_local_http_urls_with_a_port_are_accepted() -> None:
    config = load({"brands": [BRAND], "connectors": {"hackernews": {"api_base_url": "http://127.0.0.1:8080/api/v1"},
                                                     "rss": {"feeds": ["https://example.com/feed.xml?q=acme"]}}})
    assert config.connectors["hackernews"].settings.api_base_url == "http://127.0.0.1:8080/api/v1"


@pytest.mark.parametrize("via_env", [False, True])
def test_a_sqlite_database_in_a_missing_folder_stops_start_up_and_creates_nothing(tmp_path: Path,
                                                                                   via_env: bool) -> None:
    url = f"sqlite:///{tmp_path / 'nonexistent' / 'dir' / 'x.db'}"
    config = tmp_path / "mentiondesk.toml"
    config.write_text(SAMPLE_ONLY if via_env else f'[database]\nurl = "{url}"\n{SAMPLE_ONLY}')
    result = _status(config, env={"MENTIONDESK_DATABASE_URL": url} if via_env else None)
    assert result.exit_code == 2, result.output
    key = "MENTIONDESK_DATABASE_URL" if via_env else "database.url"
    assert f"{key}: the database's folder {tmp_path / 'nonexistent' / 'dir'} does not exist" in result.output
    assert not (tmp_path / "nonexistent").exists()


def test_a_missing_database_file_in_an_existing_folder_is_a_first_run(tmp_path: Path) -> None:
    config = tmp_path / "mentiondesk.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "first.db"}"\n{SAMPLE_ONLY}')
    assert _status(config).exit_code == 0
    assert (tmp_path / "first.db").is_file()


def test_the_default_database_is_still_created_with_its_folders(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "not" / "yet" / "home"
    monkeypatch.setenv("MENTIONDESK_HOME", str(home))
    config = tmp_path / "mentiondesk.toml"
    config.write_text(SAMPLE_ONLY)
    assert _status(config).exit_code == 0
    assert (home / "mentiondesk.db").is_file()


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("", "database.url: Value error, an empty url names no database"),
        ("sqlite://", "database.url: an in-memory database keeps nothing"),
        ("sqlite:///:memory:", "database.url: an in-memory database keeps nothing"),
    ],
)
def test_empty_and_in_memory_database_urls_are_refused(url: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        load({"brands": [BRAND], "connectors": {"sample": {}}, "database": {"url": url}})
    assert expected in str(info.value)


@pytest.mark.parametrize(
    ("brand", "expected"),
    [
        ({**BRAND, "handles": {"nosuch": "x"}}, "brands[0].handles.nosuch: unknown connector 'nosuch'"),
        ({**BRAND, "queries": {"other": "q"}}, "brands[0].queries.other: unknown connector 'other'"),
        ({**BRAND, "queries": {"sample": "  "}}, "brands[0].queries: Value error, queries must be non-empty"),
    ],
)
def test_handles_and_queries_must_name_a_connector_that_exists(brand: dict, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        load({"brands": [brand], "connectors": {"sample": {}}})
    assert expected in str(info.value)
    # A built-in connector not configured here is fine: a shared brand list may name it.
    load({"brands": [{**BRAND, "handles": {"mastodon": "acme"}, "queries": {"x": "acme -is:retweet"}}],
          "connectors": {"sample": {}}})


def test_a_config_file_starting_with_a_bom_loads(tmp_path: Path) -> None:
    path = tmp_path / "mentiondesk.toml"
    path.write_bytes("\ufeff".encode() + SAMPLE_ONLY.encode())
    assert [b.name for b in Config.load(path, env={}).brands] == ["Acme"]
