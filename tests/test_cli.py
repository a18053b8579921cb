import json
import re
from pathlib import Path

from click.testing import CliRunner

from monitor import users
from monitor.access import Principal, Role
from monitor.cli import cli
from monitor.storage import Database
from tests.connector_doubles import BrokenConnector, registered


def test_status_shows_health_errors_and_counts(tmp_path: Path) -> None:
    config = tmp_path / "mentiondesk.toml"
    config.write_text('[[brands]]\nname = "Acme"\nkeywords = ["acme"]\n[sentiment]\nbackend = "none"\n[connectors.sample]\n'
                      '[connectors.broken]\npoll_interval_seconds = 5\n')
    runner = CliRunner()
    with registered(BrokenConnector):
        runner.invoke(cli, ["--config", str(config), "poll", "--once"])
        result = runner.invoke(cli, ["--config", str(config), "status"])
        as_json = json.loads(runner.invoke(cli, ["--config", str(config), "status", "--json"]).output)
    assert result.exit_code == 0, result.output
    assert "mentions: 60 total, 60 not yet classified" in result.output
    assert "sample: ok; every 60s" in result.output
    assert "broken: failing" in result.output and "platform said no" in result.output
    assert "backing off until" in result.output
    assert as_json["mentions_by_platform"] == {"sample": 60}
    assert {c["name"]: c["consecutive_failures"] for c in as_json["connectors"]} == {"sample": 0, "broken": 1}


def test_demo_needs_no_configuration(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["demo", "--once", "--home", str(tmp_path / "demo")])
    assert result.exit_code == 0, result.output
    assert re.search(r"\bx: [1-9]\d* new of \d+ fetched$", result.output, re.M), result.output
    assert re.search(r"\breddit: [1-9]\d* new of \d+ fetched$", result.output, re.M), result.output
    for source in ("hackernews", "rss", "mastodon", "bluesky"):
        assert re.search(rf"\b{source}: [1-9]\d* new of \d+ fetched$", result.output, re.M), result.output
    assert re.search(r"^classified [1-9]\d* mention\(s\)$", result.output, re.M)
    latest = [line for line in result.output.splitlines() if line.startswith("  [")]
    assert len(latest) == 10 and all("unclassified" not in line for line in latest)
    assert (tmp_path / "demo" / "mentiondesk.toml").exists()
    # Its alerts reached the local chat receiver: printed, and kept in alerts.jsonl.
    assert re.search(r"^\[alert\] /alerts Urgent: \d+ mentions? of Orbisto", result.output, re.M), result.output
    received = [json.loads(line) for line in (tmp_path / "demo" / "alerts.jsonl").read_text().splitlines()]
    assert received and all("Orbisto" in r["title"] for r in received)
    assert "emulator-x-bearer-token" not in (tmp_path / "demo" / "mentiondesk.toml").read_text()
    # The demo says it created a sign-in, and the credentials it printed work.
    password = re.search(r"created the admin user 'demo' with the password (\S+) ", result.output)
    assert password, result.output
    db = Database.open(f"sqlite:///{tmp_path / 'demo' / 'demo.db'}")
    assert users.sign_in(db, "demo", password.group(1)).principal == Principal("demo", Role.ADMIN)
    db.dispose()


def test_control_characters_in_mention_text_cannot_rewrite_the_terminal() -> None:
    from monitor.text import terminal_safe

    assert terminal_safe("hi\x1b[2J\u202egnp.exe\nnext") == "hi\\u001b[2J\\u202egnp.exe next"


def test_a_bad_sentiment_setting_or_model_is_one_clear_line(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    """classify-pending loads the model first: a bad thread setting is a settings error (exit 2),
    a model folder that is not one is a model error (exit 1); neither is a traceback."""
    config = tmp_path / "mentiondesk.toml"
    config.write_text(f'[[brands]]\nname = "Acme"\nkeywords = ["acme"]\n'
                      f'[sentiment]\nbackend = "hf"\nmodel = "{tmp_path}"\n[connectors.sample]\n')
    runner = CliRunner()
    no_model = runner.invoke(cli, ["--config", str(config), "classify-pending"])
    assert no_model.exit_code == 1, no_model.output
    last_line = no_model.output.strip().splitlines()[-1]
    assert last_line == f"Error: {tmp_path} is a folder but not a Hugging Face model (no config.json)"
    monkeypatch.setenv("MENTIONDESK_THREADS", "two")
    bad_threads = runner.invoke(cli, ["--config", str(config), "classify-pending"])
    assert bad_threads.exit_code == 2, bad_threads.output
    assert "Error: MENTIONDESK_THREADS must be a whole number of 1 to 256, got 'two'" in bad_threads.output


def _config_for(tmp_path: Path, url: str) -> Path:
    config = tmp_path / "mentiondesk.toml"
    config.write_text(f'[database]\nurl = "{url}"\n[[brands]]\nname = "Acme"\nkeywords = ["acme"]\n'
                      '[sentiment]\nbackend = "none"\n[connectors.sample]\n')
    return config


def test_a_database_that_cannot_be_reached_or_opened_is_one_clear_line(tmp_path: Path) -> None:
    for url, reason in [(f"sqlite:///{tmp_path}", "unable to open database file"),  # a folder, not a file
                        ("postgresql+psycopg://mentiondesk:s3cret-pw@127.0.0.1:1/x", "Connection refused")]:
        result = CliRunner().invoke(cli, ["--config", str(_config_for(tmp_path, url)), "status"])
        assert result.exit_code == 1 and result.exception is not None
        assert isinstance(result.exception, SystemExit), result.exception  # no traceback
        assert result.output.startswith("Error: database error: ") and reason in result.output, result.output
        assert "s3cret-pw" not in result.output


def test_a_file_that_cannot_be_written_is_one_clear_line(tmp_path: Path) -> None:
    config = _config_for(tmp_path, f"sqlite:///{tmp_path / 'm.db'}")
    result = CliRunner().invoke(cli, ["--config", str(config), "export", "-o", str(tmp_path / "no" / "x.csv")])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.exception
    assert result.output == f"Error: {tmp_path / 'no' / 'x.csv'}: No such file or directory\n"


def test_seconds_must_be_a_finite_number_up_to_a_week(tmp_path: Path) -> None:
    config = _config_for(tmp_path, f"sqlite:///{tmp_path / 'm.db'}")
    # "nan" made `run` stop at once and report success; 1e10 overflowed `classify-pending --watch`'s wait.
    refused = {"nan": "is not a number of seconds", "inf": "is not a number of seconds",
               "1e10": "is more than a week (604800 seconds)"}
    for command in (["run", "--max-seconds"], ["classify-pending", "--watch"], ["demo", "--once", "--max-seconds"],
                    ["incidents", "reply", "1", "--template", "Sorry", "--max-wait"]):
        for value, message in refused.items():
            result = CliRunner().invoke(cli, ["--config", str(config), *command, value])
            assert result.exit_code == 2, (command, value, result.output)
            assert f"'{value}' {message}" in result.output


def test_an_empty_config_name_and_a_file_in_the_way_of_init_say_so(tmp_path: Path) -> None:
    empty = CliRunner().invoke(cli, ["--config", "", "status"])
    assert empty.exit_code == 2 and "config file '.' is a folder; give the config file's name" in empty.output
    (tmp_path / "notes.txt").write_text("not a folder")
    target = tmp_path / "notes.txt" / "mentiondesk.toml"
    init = CliRunner().invoke(cli, ["init", str(target)])
    assert init.exit_code == 1, init.output
    assert f"cannot write {target}: {tmp_path / 'notes.txt'} is a file, not a folder" in init.output  # was "File exists"
