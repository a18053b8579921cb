"""An imported record's platform must be a connector's name (ASCII letters, digits, ".", "_", "-"): until 2026-12-07
any text up to 50 characters was stored, and "@everyone" paged a whole Discord server from the next alert, escape
sequences and line breaks rewrote the terminal of `mentiondesk status`."""

from __future__ import annotations

import io
import json

import pytest
from sqlalchemy import select

from monitor.access import local_operator
from monitor.models import Mention
from monitor.storage import Database
from monitor.transfer import import_mentions

CONNECTOR_NAMES = ["x", "reddit", "hackernews", "_forum", "mastodon-plus", "retired-plugin", "MyForum", "forum.v2"]
NOT_NAMES = ["@everyone", "x\x1b]8;;http://e.vil/\x07CLICK\x1b]8;;\x07", "x\r\x1b[31mFAKE", "two words", "x\n",
             "<!channel>", "x\u202e", "form\u00e9", " x"]


def _line(platform: str, n: int) -> str:
    return json.dumps({"platform": platform, "external_id": str(n), "text": "acme is down",
                       "created_at": "2026-11-20T10:00:00+00:00"})


def test_a_platform_that_is_not_a_connector_name_is_a_bad_line(db: Database) -> None:
    lines = [_line(platform, n) for n, platform in enumerate(NOT_NAMES + CONNECTOR_NAMES, start=1)]
    result = import_mentions(db, io.StringIO("\n".join(lines) + "\n"), "jsonl", local_operator())
    assert result.stored == len(CONNECTOR_NAMES)
    assert [error.split(": ")[0] for error in result.errors] == [f"line {n}" for n in range(1, len(NOT_NAMES) + 1)]
    assert all(error.split(": ")[1] == "platform" and "connector's name" in error for error in result.errors)
    with db.read() as session:
        assert sorted(session.scalars(select(Mention.platform))) == sorted(CONNECTOR_NAMES)


@pytest.mark.parametrize("platform", ["", "x" * 51])
def test_an_empty_or_overlong_platform_is_still_a_bad_line(db: Database, platform: str) -> None:
    result = import_mentions(db, io.StringIO(_line(platform, 1) + "\n"), "jsonl", local_operator())
    assert result.stored == 0 and result.errors[0].startswith("line 1: platform: ")
