"""An incident id past PostgreSQL's 32-bit INTEGER, which the CLI takes (ids go up to 2**63 - 1), is "incident N
not found" on both databases, as any id no incident has: on PostgreSQL it reached the driver and failed with
"database error: integer out of range"."""

from __future__ import annotations

from pathlib import Path

import pytest
import tomli_w
from click.testing import CliRunner

from monitor.cli import cli
from monitor.storage import Database

PAST_INT4 = str(2**31)


@pytest.mark.parametrize("args, missing", [
    (["show", PAST_INT4], PAST_INT4),
    (["resolve", PAST_INT4], PAST_INT4),
    (["reply", PAST_INT4, "--template", "Sorry"], PAST_INT4),
    (["merge", PAST_INT4, "--into", "1"], PAST_INT4),
    (["merge", "1", "--into", PAST_INT4], PAST_INT4),
    (["show", str(2**31 - 1)], str(2**31 - 1)),
    (["show", str(2**63 - 1)], str(2**63 - 1)),
], ids=["show", "resolve", "reply", "merge", "merge-into", "largest-int4", "largest-id"])
def test_an_id_no_incident_can_have_is_not_found(db: Database, tmp_path: Path, args: list[str], missing: str) -> None:
    config = tmp_path / "mentiondesk.toml"
    config.write_text(tomli_w.dumps({"database": {"url": db.engine.url.render_as_string(hide_password=False)},
                                     "brands": [{"name": "Orbisto", "keywords": ["Orbisto"]}],
                                     "connectors": {"sample": {}}, "sentiment": {"backend": "none"}}))
    result = CliRunner().invoke(cli, ["--config", str(config), "incidents", *args])
    assert result.exit_code == 1 and result.output == f"Error: incident {missing} not found\n", result.output
