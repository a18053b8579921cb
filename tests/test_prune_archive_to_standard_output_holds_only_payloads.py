"""`prune --archive /dev/stdout | gzip > raw.jsonl.gz`: the archive read back holds the payloads and nothing else.
The summary line goes to standard error, as export's does; until 2026-12-07 it was printed after the payloads, so
the archive's last line was not JSON, and one appended to through standard output (`>> raw.jsonl`) was refused
by the next `prune --archive raw.jsonl` as "not a prune archive"."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

from monitor.models import Mention
from tests import schema_templates

REPO = Path(__file__).resolve().parents[1]
LONG_AGO = datetime(2020, 1, 1, tzinfo=timezone.utc)


def test_an_archive_written_to_standard_output_holds_only_payloads_and_can_be_appended_to(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'mentiondesk.db'}"
    db = schema_templates.new_database(url)

    def fetched_long_ago(*numbers: int) -> None:
        with db.write() as session:
            session.add_all(Mention(platform="sample", external_id=str(n), text=f"acme mention {n}",
                                    created_at=LONG_AGO, fetched_at=LONG_AGO, raw={"number": n}) for n in numbers)

    config = tmp_path / "mentiondesk.toml"
    config.write_text(f'[database]\nurl = "{url}"\n[sentiment]\nbackend = "none"\n'
                      '[[brands]]\nname = "Acme"\nkeywords = ["acme"]\n[connectors.sample]\n', encoding="utf-8")
    prune = [sys.executable, "-m", "monitor", "--config", str(config), "prune", "--raw-older-than", "1", "--archive"]
    archive = tmp_path / "raw.jsonl"
    try:
        fetched_long_ago(1, 2, 3)
        with archive.open("ab") as out:  # `prune --archive /dev/stdout >> raw.jsonl`
            piped = subprocess.run([*prune, "/dev/stdout"], stdout=out, stderr=subprocess.PIPE, text=True, cwd=REPO,
                                   timeout=120)
        assert piped.returncode == 0, piped.stderr
        assert "pruned the raw payloads of 3 mention(s)" in piped.stderr
        assert sorted(json.loads(line)["raw"]["number"] for line in archive.read_text().splitlines()) == [1, 2, 3]
        # The same archive taken up again by name: appended to, not refused.
        fetched_long_ago(4)
        again = subprocess.run([*prune, str(archive)], capture_output=True, text=True, cwd=REPO, timeout=120)
        assert again.returncode == 0, again.stderr
        assert [json.loads(line)["raw"]["number"] for line in archive.read_text().splitlines()][-1] == 4
    finally:
        db.dispose()
