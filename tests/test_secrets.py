"""A scan for configured secrets: after polling (one source with a wrong secret), alerting (one target
failing), status, exports, the audit log and a database that cannot be reached, no secret appears in
any output, log record, written file or database row."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest
import tomli_w
from click.testing import CliRunner
from sqlalchemy import select

from connectors.emulators import DEMO_SECRETS, demo_connector_settings, start_emulators
from monitor.alerts.engine import AlertEngine
from monitor.alerts.receiver import Receiver
from monitor.cli import cli
from monitor.access import Role
from monitor.config import Config
from monitor.models import Base, Mention, utcnow
from monitor.storage import Database
from tests.emulator_fixtures import BACKLOG_END

WRONG_REDDIT_SECRET = "sekrit-wrong-reddit-client-secret-5c1e"
HOOK_PATH = "hook-s3cr3t-path-91ad"
DEAD_HOOK_PATH = "dead-hook-s3cr3t-44f0"
DB_PASSWORD = "db-pa55w0rd-sekrit-0b7d"


def _dump_database(db: Database) -> str:
    """Every row of every table, as text."""
    out = []
    with db.read() as session:
        for table in Base.metadata.sorted_tables:
            out += [repr(tuple(row)) for row in session.execute(select(table))]
    return "\n".join(out)


def _dashboard_pages(db: Database, config_path: Path, monkeypatch: pytest.MonkeyPatch, mention_id: int) -> str:
    """Everything the dashboard shows an admin on each page (the queue with a mention open)."""
    pytest.importorskip("streamlit", reason="the dashboard needs streamlit: pip install 'mentiondesk[dashboard]'")
    from tests.test_dashboard_fixtures import signed_in_app

    monkeypatch.setenv("MENTIONDESK_CONFIG", str(config_path))
    at = signed_in_app(db, "root", Role.ADMIN)
    at.button(key=f"open-{mention_id}").click().run()
    shown = [_rendered(at._tree)]
    for page in ("sla", "analytics", "alerts", "activity", "incidents"):
        at.switch_page(f"pages/{page}.py").run()
        assert not at.exception, (page, at.exception)
        shown.append(_rendered(at._tree))
    assert "Incidents" in shown[-1] and "Open a mention" not in shown[0] and "care" in shown[3]
    return "\n".join(shown)


def _rendered(node: object) -> str:
    """Every element's message as sent to the browser (text, HTML, table bytes), depth first."""
    proto = getattr(node, "proto", None)
    parts = [str(proto)] if proto is not None else []
    parts += [_rendered(child) for child in getattr(node, "children", {}).values()]
    return "\n".join(parts)


def test_no_configured_secret_appears_in_outputs_logs_files_or_the_database(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
        capsys: pytest.CaptureFixture[str]) -> None:
    caplog.set_level(logging.DEBUG)
    run = CliRunner().invoke
    outputs: list[str] = []
    with start_emulators(seed=3, backlog=15, backlog_end=BACKLOG_END) as running, Receiver() as receiver:
        settings = demo_connector_settings(running)
        secrets = {**settings["env"], "MENTIONDESK_REDDIT_CLIENT_SECRET": WRONG_REDDIT_SECRET,
                   "MENTIONDESK_ALERT_CARE_URL": receiver.json_url(HOOK_PATH),
                   "MENTIONDESK_ALERT_DEAD_URL": f"json://127.0.0.1:9/{DEAD_HOOK_PATH}"}
        # Half of them from a 0600 secrets file, the rest from the environment.
        names = sorted(secrets)
        secrets_file = tmp_path / "mentiondesk.secrets"
        secrets_file.write_text("".join(f"{k}={secrets[k]}\n" for k in names[::2]), encoding="utf-8")
        secrets_file.chmod(0o600)
        for k in names[1::2]:
            monkeypatch.setenv(k, secrets[k])
        config_path = tmp_path / "mentiondesk.toml"
        config_path.write_text(tomli_w.dumps({
            "secrets_file": "mentiondesk.secrets",
            "database": {"url": f"sqlite:///{tmp_path / 'm.db'}"},
            "brands": [settings["brand"]],
            "connectors": {name: settings["connectors"][name] for name in ("x", "reddit")},
            "sentiment": {"backend": "none"},
            "alerts": {"targets": [{"name": "care", "rules": ["urgent"]}, {"name": "dead", "rules": ["urgent"]}],
                       "delivery": {"max_attempts": 1}},
        }), encoding="utf-8")
        base = ["--config", str(config_path), "-vv"]

        polled = run(cli, [*base, "poll", "--once"])
        outputs.append(polled.output)
        assert "x: ok" in polled.output and "reddit: FAILED" in polled.output, polled.output

        config = Config.load(config_path)
        db = Database.open(config.database_url)
        with db.read() as session:
            ids = list(session.scalars(select(Mention.id).where(Mention.platform == "x").limit(2)))
        with db.write() as session:
            for mention in session.scalars(select(Mention).where(Mention.id.in_(ids))):
                mention.sentiment_label, mention.sentiment_score, mention.created_at = "negative", 0.95, utcnow()
                mention.text = "refund now, this is a scam"
        with AlertEngine(db, config.alerts, config.alert_targets) as engine:
            engine.on_new_mentions(ids)
            engine.drain(20)
        assert receiver.wait_for(1)

        for command in (["status"], ["export", "-o", str(tmp_path / "out.csv")],
                        ["export", "-o", str(tmp_path / "out.jsonl")], ["audit", "export", "-o", str(tmp_path / "audit.csv")],
                        ["user", "list"]):
            result = run(cli, [*base, *command])
            assert result.exit_code == 0, result.output
            outputs.append(result.output)
        dump = _dump_database(db)
        outputs.append(_dashboard_pages(db, config_path, monkeypatch, ids[0]))
        db.dispose()

    monkeypatch.setenv("MENTIONDESK_DATABASE_URL", f"postgresql+psycopg://mentiondesk:{DB_PASSWORD}@127.0.0.1:9/none")
    unreachable = run(cli, [*base, "status"])
    assert unreachable.exit_code != 0
    outputs.append(unreachable.output + repr(unreachable.exception))

    written = "\n".join(p.read_text(encoding="utf-8", errors="replace") for p in tmp_path.rglob("*")
                        if p.is_file() and p.suffix in (".csv", ".jsonl", ".toml", ".json", ".log"))
    captured = capsys.readouterr()
    haystack = "\n".join([*outputs, caplog.text, captured.out, captured.err, written, dump])
    # Account names and handles are identifiers, not secrets; everything else configured is.
    configured = [v for k, v in secrets.items() if any(w in k for w in ("TOKEN", "SECRET", "PASSWORD", "KEY", "_URL"))]
    configured += [HOOK_PATH, DEAD_HOOK_PATH, DB_PASSWORD, *DEMO_SECRETS["x"].values()]
    assert len(haystack) > 10_000 and "FAILED" in haystack  # the scan read real output, errors included
    leaked = sorted({s for s in configured if s in haystack})
    assert leaked == [], [line for line in haystack.splitlines() if any(s in line for s in leaked)][:5]
    assert os.environ.get("MENTIONDESK_DATABASE_URL", "").endswith("/none")


TELEGRAM_TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
NTFY_TOKEN = "tk_secrettoken0123456789abcd"
HEADER_KEY = "HeaderKey-secret-456"
SLACK_TOKEN = "Xq9sLkWm3nPzR7tYvB2cD4eF"


def test_single_tokens_that_apprise_logs_from_a_target_url_are_masked(caplog: pytest.LogCaptureFixture) -> None:
    urls = {"tgram": f"tgram://{TELEGRAM_TOKEN}/-1001234567890", "ntfy": f"ntfys://{NTFY_TOKEN}@ntfy.example/alerts",
            "hook": f"json://hooks.example/in?+X-Api-Key={HEADER_KEY}", "slack": f"slack://T0ABCDEFG/B0HIJKLMN/{SLACK_TOKEN}"}
    Config.from_dict({"brands": [{"name": "Acme", "keywords": ["acme"]}], "connectors": {"sample": {}},
                      "alerts": {"targets": [{"name": name} for name in urls]}},
                     env={f"MENTIONDESK_ALERT_{name.upper()}_URL": url for name, url in urls.items()})
    apprise_log = logging.getLogger("apprise")
    with caplog.at_level(logging.DEBUG, logger="apprise"):
        # What apprise 2.x writes at DEBUG and WARNING: each holds one piece of a URL, not the URL.
        apprise_log.debug("Telegram POST URL: https://api.telegram.org/bot%s/sendMessage", TELEGRAM_TOKEN)
        apprise_log.debug("ntfy Headers: {'Authorization': 'Bearer %s'}", NTFY_TOKEN)
        apprise_log.debug("JSON Headers: {'X-Api-Key': '%s'}", HEADER_KEY)
        apprise_log.warning("An invalid Slack (third) Token (%s.) was specified.", SLACK_TOKEN)
        apprise_log.debug("Posted to hooks.example for the general channel")
    assert not [line for line in caplog.text.splitlines()
                if any(token in line for token in (TELEGRAM_TOKEN, NTFY_TOKEN, HEADER_KEY, SLACK_TOKEN, "AAHdqTcv"))]
    assert "Posted to hooks.example for the general channel" in caplog.text  # a URL's plain words are not secrets
    assert caplog.text.count("***") == 4
