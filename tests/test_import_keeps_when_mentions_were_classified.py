"""An exported and imported mention keeps the time it was classified, which `mentiondesk retriage` ages it by: with
the rules as they were, retriage changes no priority in the database imported into (the import stamped its own time,
so every mention days old moved)."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from monitor.access import local_operator
from monitor.classify import MentionClassifier
from monitor.models import Mention, utcnow
from monitor.retriage import retriage
from monitor.storage import Database
from monitor.transfer import Format, import_mentions, iter_export, write_export
from sentiment.triage import TriageRules
from tests.classify_worker import SlowModel

RULES = TriageRules()


def no_model() -> MentionClassifier:
    raise AssertionError("the stored probabilities were enough; the model was loaded")


def classified_days_ago(db: Database, classified_at_fetch: bool = False) -> None:
    """Mentions posted a minute before they were fetched and classified, all two days ago; with
    ``classified_at_fetch``, classified the moment they were fetched, as a worker classifies soon after."""
    now = utcnow()
    with db.write() as session:
        session.add_all(Mention(platform="sample", external_id=str(n), text=f"@acme my order {n} never arrived",
                                created_at=now - timedelta(minutes=1), author_followers=500, replyable=True, raw={})
                        for n in range(3))
    MentionClassifier(SlowModel(0), RULES).classify_pending(db)
    with db.write() as session:
        for mention in session.scalars(select(Mention)):
            if classified_at_fetch:
                mention.classified_at = mention.fetched_at
            for name in ("created_at", "fetched_at", "classified_at"):
                setattr(mention, name, getattr(mention, name) - timedelta(days=2))
    retriage(db, RULES, no_model)  # the priorities for those times


def exported(db: Database, fmt: Format, without_classified_at: bool = False) -> str:
    """`db`'s export; ``without_classified_at``: as exports were before they carried it."""
    buffer = io.StringIO()
    write_export(iter_export(db), buffer, fmt)
    if not without_classified_at:
        return buffer.getvalue()
    if fmt == "jsonl":
        records = [json.loads(line) for line in buffer.getvalue().splitlines()]
        return "".join(json.dumps({k: v for k, v in r.items() if k != "classified_at"}) + "\n" for r in records)
    rows = list(csv.DictReader(io.StringIO(buffer.getvalue())))
    out = io.StringIO()
    columns = [name for name in rows[0] if name != "classified_at"]
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def imported(export: str, fmt: Format, tmp_path: Path) -> Database:
    target = Database.open(f"sqlite:///{tmp_path / 'imported.db'}")
    target.upgrade()
    result = import_mentions(target, io.StringIO(export), fmt, local_operator())
    assert (result.stored, result.errors) == (3, [])
    return target


def priorities(db: Database) -> dict[str, float | None]:
    with db.read() as session:
        return dict(session.execute(select(Mention.external_id, Mention.priority)).all())


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_retriage_with_unchanged_rules_changes_no_imported_priority(db: Database, tmp_path: Path, fmt: Format) -> None:
    classified_days_ago(db)
    target = imported(exported(db, fmt), fmt, tmp_path)
    with db.read() as session:
        classified_at = dict(session.execute(select(Mention.external_id, Mention.classified_at)).all())
    with target.read() as session:
        assert dict(session.execute(select(Mention.external_id, Mention.classified_at)).all()) == classified_at
    result = retriage(target, RULES, no_model)
    assert (result.changed, result.unchanged) == (0, 3)
    assert priorities(target) == priorities(db)


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_an_export_from_before_the_classification_time_counts_from_the_fetch(sqlite_db: Database, tmp_path: Path,
                                                                              fmt: Format) -> None:
    classified_days_ago(sqlite_db, classified_at_fetch=True)
    target = imported(exported(sqlite_db, fmt, without_classified_at=True), fmt, tmp_path)
    with target.read() as session:
        assert all(m.classified_at == m.fetched_at for m in session.scalars(select(Mention)))
    assert retriage(target, RULES, no_model).changed == 0
    assert priorities(target) == priorities(sqlite_db)


def test_an_exported_mention_not_yet_classified_stays_for_the_worker(sqlite_db: Database, tmp_path: Path) -> None:
    # A label with no classification time: a worker is to classify it again (an edited post fetched anew).
    classified_days_ago(sqlite_db)
    with sqlite_db.write() as session:
        session.scalars(select(Mention).where(Mention.external_id == "0")).one().classified_at = None
    target = imported(exported(sqlite_db, "csv"), "csv", tmp_path)
    with target.read() as session:
        unclassified = session.scalars(select(Mention.external_id).where(Mention.classified_at.is_(None))).all()
    assert unclassified == ["0"]


def test_an_imported_classification_time_must_fit_the_calendar(sqlite_db: Database) -> None:
    line = {"platform": "sample", "external_id": "1", "text": "hi", "created_at": "2026-11-01T09:00:00Z",
            "sentiment_label": "neutral", "classified_at": "0001-01-01T00:00:00+05:00"}  # before year 1 in UTC
    result = import_mentions(sqlite_db, io.StringIO(json.dumps(line) + "\n"), "jsonl", local_operator())
    assert result.stored == 0
    assert result.errors[0].startswith("line 1: classified_at:") and "out of range" in result.errors[0]
