"""An imported record answered before it was posted (a time zone mixed up in a spreadsheet), or answered or
classified in year 1 or 9999, is a bad line: until 2026-12-07 it was stored, counted as an SLA met at once
or made the brand's average first response a million days."""

from __future__ import annotations

import io
import json

from sqlalchemy import select

from monitor.access import local_operator
from monitor.models import Mention
from monitor.storage import Database
from monitor.transfer import import_mentions

POSTED = "2026-11-20T10:00:00+00:00"


def _record(n: int, **times: str) -> str:
    return json.dumps({"platform": "sample", "external_id": str(n), "text": f"where is order {n}?",
                       "created_at": POSTED, "fetched_at": "2026-11-20T10:01:00+00:00",
                       "sentiment_label": "neutral", **times})


def test_response_and_classification_times_that_cannot_be_right_are_bad_lines(db: Database) -> None:
    lines = [_record(1, first_response_at="2026-11-20T09:30:00+00:00"),  # half an hour before the post
             _record(2, first_response_at="0001-01-01T00:00:00+00:00"),
             _record(3, first_response_at="9999-12-31T00:00:00+00:00"),
             _record(4, classified_at="9999-12-31T00:00:00+00:00"),
             _record(5, first_response_at="2026-11-20T10:20:00+00:00", classified_at="2026-11-20T10:01:05+00:00")]
    result = import_mentions(db, io.StringIO("\n".join(lines) + "\n"), "jsonl", local_operator())
    assert result.stored == 1
    assert [error.split(":")[0] for error in result.errors] == ["line 1", "line 2", "line 3", "line 4"]
    assert all("is before the post" in error and "correct its time zone" in error for error in result.errors[:2])
    assert all("more than a day ahead or before 1990" in error for error in result.errors[2:])
    with db.read() as session:
        assert session.scalars(select(Mention.external_id)).all() == ["5"]
