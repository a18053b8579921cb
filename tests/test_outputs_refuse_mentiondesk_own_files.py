"""Every option naming a file a command writes refuses mentiondesk's own config file and SQLite database (and
what SQLite and `run` keep beside it), however the path is written, as a usage error naming the option, before
the command does anything: `export -o mentiondesk.db` replaced the live database, `run --health-file
mentiondesk.toml` the config, `prune --archive mentiondesk.db` cut the database and cleared the payloads it
archived there, all with exit status 0."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from monitor.cli import cli
from monitor.models import Mention
from monitor.storage import Database
from tests.test_prune_archive_failures import config_with_old_mentions

CONFIG = "mentiondesk.toml"
DATABASE = "m.db"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A config and its SQLite database of 3 mentions fetched 100 days ago, in the working directory."""
    config_with_old_mentions(tmp_path, 3, 20, CONFIG, DATABASE)
    (tmp_path / "in.jsonl").write_text('{"text": "acme is great"}\n')
    (tmp_path / "link.jsonl").symlink_to(tmp_path / DATABASE)
    os.link(tmp_path / DATABASE, tmp_path / "hard.pdf")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _fingerprint(home: Path) -> dict[str, str]:
    return {name: hashlib.sha256((home / name).read_bytes()).hexdigest() for name in (CONFIG, DATABASE)}


def _unpruned(home: Path) -> int:
    db = Database.open(f"sqlite:///{home / DATABASE}")
    try:
        with db.read() as session:
            return len(session.scalars(select(Mention.id).where(Mention.raw_pruned_at.is_(None))).all())
    finally:
        db.dispose()


OUTPUT = "'--output' / '-o'"


@pytest.mark.parametrize("command, where, path, what", [
    (["export", "-o", DATABASE], OUTPUT, DATABASE, "mentiondesk's database"),
    (["export", "-o", "./m.db-wal"], OUTPUT, "m.db-wal", "the write-ahead log of mentiondesk's database"),
    (["export", "-o", "link.jsonl"], OUTPUT, "link.jsonl", "mentiondesk's database"),
    (["export", "--format", "jsonl", "-o", CONFIG], OUTPUT, CONFIG, "mentiondesk's config file"),
    (["audit", "export", "-o", CONFIG], OUTPUT, CONFIG, "mentiondesk's config file"),
    (["audit", "export", "-o", "m.db-shm"], OUTPUT, "m.db-shm", "the shared-memory file of mentiondesk's database"),
    (["prune", "--raw-older-than", "90", "--archive", DATABASE], "'--archive'", DATABASE, "mentiondesk's database"),
    (["prune", "--raw-older-than", "90", "--archive", "m.db-journal"], "'--archive'", "m.db-journal",
     "the rollback journal of mentiondesk's database"),
    (["run", "--max-seconds", "1", "--health-file", CONFIG], "'--health-file'", CONFIG, "mentiondesk's config file"),
    (["run", "--max-seconds", "1", "--health-file", DATABASE], "'--health-file'", DATABASE, "mentiondesk's database"),
    (["run", "--max-seconds", "1", "--health-file", "m.db.worker.lock"], "'--health-file'", "m.db.worker.lock",
     "the worker lock of mentiondesk's database"),
    (["report", "--from", "2026-01-01", "--to", "2026-01-31", "--out", "hard.pdf"], "'--out'", "hard.pdf",
     "mentiondesk's database"),
    (["classify", "--input", "in.jsonl", "--output", DATABASE], "'--output'", DATABASE, "mentiondesk's database"),
    (["init", "--force", DATABASE], "'PATH'", DATABASE, "mentiondesk's database"),
])
def test_an_output_that_is_mentiondesks_own_file_is_refused(
        home: Path, command: list[str], where: str, path: str, what: str) -> None:
    before = _fingerprint(home)
    result = CliRunner().invoke(cli, ["--config", CONFIG, *command])
    assert result.exit_code == 2, result.output
    assert (f"Error: Invalid value for {where}: {path} is {what}: writing it would destroy it; name another file"
            in result.output), result.output
    assert _fingerprint(home) == before
    assert _unpruned(home) == 3
    assert not any((home / f"{DATABASE}{suffix}").exists() for suffix in ("-wal", "-shm", "-journal"))


def test_the_database_is_refused_where_the_config_does_not_load(
        home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # `classify` reads only the [triage] table, so it runs where a connector's secret is not set: the database
    # is still known from the config file.
    with (home / CONFIG).open("a") as config:
        config.write("[connectors.x]\n")
    monkeypatch.delenv("MENTIONDESK_X_BEARER_TOKEN", raising=False)
    result = CliRunner().invoke(cli, ["--config", CONFIG, "classify", "--input", "in.jsonl", "--output", DATABASE])
    assert result.exit_code == 2 and f"{DATABASE} is mentiondesk's database" in result.output, result.output


def test_the_database_the_environment_names_is_refused(home: Path, tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    env = {"MENTIONDESK_DATABASE_URL": f"sqlite:///{other}"}
    result = CliRunner().invoke(cli, ["--config", CONFIG, "export", "-o", str(other)], env=env)
    assert result.exit_code == 2 and f"{other} is mentiondesk's database" in result.output, result.output


def test_other_outputs_are_written(home: Path) -> None:
    assert CliRunner().invoke(cli, ["--config", CONFIG, "export", "-o", "out.jsonl"]).exit_code == 0
    assert len((home / "out.jsonl").read_text().splitlines()) == 3
    assert CliRunner().invoke(cli, ["--config", CONFIG, "prune", "--raw-older-than", "90",
                                    "--archive", "raw.jsonl"]).exit_code == 0
    assert _unpruned(home) == 0
