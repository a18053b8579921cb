import json
from datetime import timedelta
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import select

from monitor.cli import cli
from monitor.models import Mention, utcnow
from monitor.retention import prune_raw_payloads
from monitor.storage import Database
from tests.connector_doubles import T0


def add(db: Database, n: int, fetched_days_ago: float) -> None:
    with db.write() as session:
        session.add(Mention(platform="x", external_id=str(n), text=f"post {n}", created_at=T0,
                            fetched_at=utcnow() - timedelta(days=fetched_days_ago), raw={"id": str(n), "big": "x" * 100}))


def test_old_raw_payloads_are_archived_then_cleared_once(db: Database, tmp_path: Path) -> None:
    for n, age in enumerate([100, 95, 91, 10, 0]):
        add(db, n, age)
    archive = tmp_path / "raw.jsonl"
    with archive.open("w") as out:
        assert prune_raw_payloads(db, timedelta(days=90), out, batch_size=2) == 3
    assert [json.loads(line)["external_id"] for line in archive.read_text().splitlines()] == ["0", "1", "2"]
    assert json.loads(archive.read_text().splitlines()[0])["raw"]["big"] == "x" * 100
    with db.read() as session:
        mentions = {m.external_id: m for m in session.scalars(select(Mention))}
    assert all(mentions[k].raw == {} and mentions[k].raw_pruned_at for k in "012")
    assert all(mentions[k].raw["big"] and mentions[k].raw_pruned_at is None for k in "34")
    assert mentions["0"].text == "post 0"  # the mention itself stays
    assert prune_raw_payloads(db, timedelta(days=90)) == 0


def test_prune_command_needs_a_retention_period(tmp_path: Path) -> None:
    config = tmp_path / "mentiondesk.toml"
    config.write_text('[[brands]]\nname = "Acme"\nkeywords = ["acme"]\n[connectors.sample]\n[sentiment]\nbackend = "none"\n')
    missing = CliRunner().invoke(cli, ["--config", str(config), "prune"])
    assert missing.exit_code == 2 and "--raw-older-than" in missing.output
    config.write_text(config.read_text() + "[retention]\nraw_payload_days = 30\n")
    ok = CliRunner().invoke(cli, ["--config", str(config), "prune"])
    assert ok.exit_code == 0 and "pruned the raw payloads of 0 mention(s) fetched more than 30 day(s) ago" in ok.output
