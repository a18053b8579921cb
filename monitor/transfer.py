"""`mentiondesk export` / `import`: mentions as JSONL or CSV, round-trippable.

CSV cells that a spreadsheet would run as a formula (=, +, -, @ …) are written with a leading
apostrophe and read back without it: mention text is untrusted.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO, Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy import select, tuple_

from connectors.base import Mention as FetchedMention
from monitor import audit
from monitor.access import Principal, Role, require
from monitor.errors import IngestError
from monitor.ingest import normalise, store_mentions
from monitor.models import Brand, Mention, MentionStatus, MentionTag, utcnow
from monitor.storage import Database
from monitor.text import csv_safe, formula_like

Format = Literal["jsonl", "csv"]
EXPORT_FIELDS = (
    "platform", "external_id", "brand", "url", "author_handle", "author_name", "author_followers", "text",
    "lang", "created_at", "fetched_at", "thread_id", "parent_id", "replyable", "sentiment_label",
    "sentiment_score", "sentiment_scores", "intent", "needs_response", "priority", "human_sentiment_label",
    "human_intent", "status", "assignee", "tags", "raw",
)
_JSON_FIELDS = ("tags", "raw", "sentiment_scores")
_TRIAGE_FIELDS = ("sentiment_label", "sentiment_score", "sentiment_scores", "intent", "needs_response", "priority",
                  "human_sentiment_label", "human_intent", "status", "assignee")
Label = Literal["negative", "neutral", "positive"]
Intent = Literal["complaint", "question", "praise", "other"]
Probability = Annotated[float, Field(ge=0, le=1)]


class MentionRecord(BaseModel):
    """One imported mention; fields not listed here are kept in ``raw["imported_fields"]``."""

    model_config = ConfigDict(extra="allow", str_strip_whitespace=False)

    platform: str = Field(min_length=1, max_length=50)
    external_id: str = Field(min_length=1, max_length=200)
    text: str
    created_at: AwareDatetime
    brand: str | None = None
    url: str | None = None
    author_handle: str | None = None
    author_name: str | None = None
    author_followers: int | None = Field(default=None, ge=0)
    lang: str | None = None
    thread_id: str | None = None
    parent_id: str | None = None
    replyable: bool = False
    raw: dict[str, Any] = {}
    sentiment_label: Label | None = None
    sentiment_score: float | None = Field(default=None, ge=0, le=1)
    sentiment_scores: dict[Label, Probability] | None = None   # all three, which `mentiondesk retriage` reads
    intent: Intent | None = None
    needs_response: bool | None = None
    priority: float | None = Field(default=None, ge=0, le=100)
    human_sentiment_label: Label | None = None
    human_intent: Intent | None = None
    status: MentionStatus = MentionStatus.NEW
    assignee: str | None = None
    tags: list[str] = []
    fetched_at: AwareDatetime | None = None

    @field_validator("external_id", mode="before")
    @classmethod
    def _id_as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


@dataclass
class ImportResult:
    lines: int = 0
    stored: int = 0
    duplicates: int = 0
    errors: list[str] = field(default_factory=list)


def _csv_unsafe(value: str) -> str:
    return value[1:] if value.startswith("'") and formula_like(value[1:]) else value


def _export_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def export_records(rows: Iterable[tuple[Mention, str | None]]) -> Iterator[dict[str, Any]]:
    """(mention, brand key) rows as export records: the shape `mentiondesk import` reads back."""
    for mention, brand_key in rows:
        record = {name: _export_value(getattr(mention, name, None)) for name in EXPORT_FIELDS}
        record["brand"] = brand_key
        record["tags"] = sorted(t.tag for t in mention.tags)
        yield record


def iter_export(db: Database, brand: str | None = None, platform: str | None = None,
                since: datetime | None = None) -> Iterator[dict[str, Any]]:
    with db.read() as session:
        query = select(Mention, Brand.key).outerjoin(Brand, Brand.id == Mention.brand_id).order_by(Mention.id)
        if brand:
            query = query.where(Brand.key == brand)
        if platform:
            query = query.where(Mention.platform == platform)
        if since:
            query = query.where(Mention.created_at >= since)
        yield from export_records(session.execute(query.execution_options(yield_per=1000)))


def write_export(records: Iterator[dict[str, Any]], out: IO[str], fmt: Format) -> int:
    count = 0
    if fmt == "jsonl":
        for record in records:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
            count += 1
        return count
    writer = csv.DictWriter(out, fieldnames=EXPORT_FIELDS)
    writer.writeheader()
    for record in records:
        row = {k: json.dumps(v, ensure_ascii=False) if k in _JSON_FIELDS else v for k, v in record.items()}
        writer.writerow({k: csv_safe(v) if isinstance(v, str) else v for k, v in row.items()})
        count += 1
    return count


def _read_lines(source: IO[str], fmt: Format) -> Iterator[tuple[int, dict[str, Any] | str]]:
    """Yields (line number, record or error text)."""
    if fmt == "jsonl":
        for number, line in enumerate(source, start=1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError as exc:
                yield number, f"not valid JSON ({exc.msg} at column {exc.colno})"
                continue
            yield number, value if isinstance(value, dict) else "expected a JSON object"
        return
    reader = csv.DictReader(source)
    for row in reader:
        number = reader.line_num
        record: dict[str, Any] = {}
        try:
            for key, value in row.items():
                if key is None or value is None or (value == "" and key != "text"):  # a post can be empty
                    continue
                value = _csv_unsafe(value)
                record[key] = json.loads(value) if key in _JSON_FIELDS else value
        except json.JSONDecodeError:
            yield number, f"column {key!r} must hold JSON"
            continue
        yield number, record


def import_mentions(db: Database, source: IO[str], fmt: Format, actor: Principal, batch_size: int = 500) -> ImportResult:
    """Store every valid record (existing ones are skipped); a bad line is reported, not fatal.

    Admins only: records carry triage state (status, assignee, human labels).
    """
    require(actor, Role.ADMIN, "importing mentions")
    result = ImportResult()
    batch: list[tuple[MentionRecord, dict[str, Any]]] = []
    with db.read() as session:
        brand_ids = dict(session.execute(select(Brand.key, Brand.id)).all())

    def flush() -> None:
        if not batch:
            return
        with db.write() as session:
            new_ids = set(store_mentions(session, [row for _, row in batch]))
            tagged = [(r.platform, r.external_id, r.tags) for r, _ in batch if r.tags]
            if tagged and new_ids:
                keys = [(p, e) for p, e, _ in tagged]
                ids = dict(((p, e), i) for i, p, e in session.execute(
                    select(Mention.id, Mention.platform, Mention.external_id)
                    .where(tuple_(Mention.platform, Mention.external_id).in_(keys))))
                for platform, external_id, tags in tagged:
                    mention_id = ids.get((platform, external_id))
                    if mention_id in new_ids:
                        session.add_all(MentionTag(mention_id=mention_id, tag=t) for t in sorted(set(tags)))
            result.stored += len(new_ids)
            result.duplicates += len(batch) - len(new_ids)
            if new_ids:
                audit.record(session, actor.name, "import", count=len(new_ids))
        batch.clear()

    for number, item in _read_lines(source, fmt):
        result.lines += 1
        if isinstance(item, str):
            result.errors.append(f"line {number}: {item}")
            continue
        try:
            record = MentionRecord.model_validate(item)
            if record.brand is not None and record.brand not in brand_ids:
                raise IngestError(f"brand {record.brand!r} is not configured")
            raw = dict(record.raw)
            if record.model_extra:
                raw["imported_fields"] = record.model_extra
            fetched = FetchedMention(
                platform=record.platform, external_id=record.external_id, text=record.text,
                created_at=record.created_at, url=record.url, author_handle=record.author_handle,
                author_name=record.author_name, author_followers=record.author_followers, lang=record.lang,
                thread_id=record.thread_id, parent_id=record.parent_id, replyable=record.replyable, raw=raw,
            )
            row = normalise(fetched, brand_id=brand_ids.get(record.brand or ""), query_id=None,
                            fetched_at=record.fetched_at or utcnow())
        except ValidationError as exc:
            first = exc.errors(include_input=False, include_url=False)[0]
            where = ".".join(str(p) for p in first["loc"]) or "record"
            result.errors.append(f"line {number}: {where}: {first['msg']}")
            continue
        except IngestError as exc:
            result.errors.append(f"line {number}: {exc}")
            continue
        row.update({name: getattr(record, name) for name in _TRIAGE_FIELDS})
        row["status"] = record.status.value
        row["classified_at"] = utcnow() if record.sentiment_label is not None else None
        batch.append((record, row))
        if len(batch) >= batch_size:
            flush()
    flush()
    return result
