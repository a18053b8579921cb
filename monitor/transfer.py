"""`mentiondesk export` / `import`: mentions as JSONL or CSV, round-trippable.

CSV cells that a spreadsheet would run as a formula (=, +, -, @ …) are written with a leading
apostrophe and read back without it: mention text is untrusted. A cell that starts with an apostrophe
of its own gets one more, so reading one back off is never a guess.

An export to a file replaces the file only once it is complete; an import reports each bad line
(invalid record, unknown brand, bytes that are not UTF-8) by its number and stores the rest.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import secrets
import signal
import stat
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Annotated, Any, Literal, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator
from sqlalchemy import exists, select, tuple_

from connectors.base import Mention as FetchedMention
from connectors.registry import CONNECTOR_NAME, NAME_RULE
from monitor import audit
from monitor.access import Principal, Role, require
from monitor.errors import ConfigError, IngestError
from monitor.ingest import BIGINT_MAX, in_utc, normalise, storable, store_mentions, unbelievable
from monitor.models import Brand, Mention, MentionStatus, MentionTag, utcnow
from monitor.storage import Database
from monitor.text import csv_safe, formula_like, terminal_safe
from monitor.triage import TriageError, clean_assignee, clean_tag
from sentiment.data import unique_keys, unreadable_json

Format = Literal["jsonl", "csv"]
T = TypeVar("T")
EXPORT_FIELDS = (
    "platform", "external_id", "brand", "url", "author_handle", "author_name", "author_followers", "text",
    "lang", "created_at", "fetched_at", "classified_at", "thread_id", "parent_id", "replyable", "sentiment_label",
    "sentiment_score", "sentiment_scores", "intent", "needs_response", "priority", "human_sentiment_label",
    "human_intent", "status", "assignee", "first_response_at", "tags", "raw",
)
_JSON_FIELDS = ("tags", "raw", "sentiment_scores")
_TRIAGE_FIELDS = ("sentiment_label", "sentiment_score", "sentiment_scores", "intent", "needs_response", "priority",
                  "human_sentiment_label", "human_intent", "status", "assignee", "first_response_at")
Label = Literal["negative", "neutral", "positive"]
Intent = Literal["complaint", "question", "praise", "other"]
Probability = Annotated[float, Field(ge=0, le=1)]
_TIME_NAMES = {"first_response_at": "the first response time", "classified_at": "the classification time"}
# A CSV field may hold a mention's raw platform payload (an RSS entry's whole content), which can
# pass the csv module's 128 KiB default: the export writes it, so the import must read it back.
CSV_FIELD_LIMIT = 64 * 2**20
# What an undecodable byte becomes when read with errors="surrogateescape" (U+DC80 to U+DCFF).
_UNDECODED_BYTE = re.compile("[\udc80-\udcff]")

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
    author_followers: int | None = Field(default=None, ge=0, le=BIGINT_MAX)
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
    first_response_at: AwareDatetime | None = None  # when it was answered; exports until 2026-12-06 lack it
    tags: list[str] = []
    fetched_at: AwareDatetime | None = None
    # When the model labelled it, which `mentiondesk retriage` ages it by; exports until 2026-12-07 lack it.
    classified_at: AwareDatetime | None = None

    # Every mention's platform is a connector's name (the registry's rule): it is shown in chat alerts and
    # terminals, where "@everyone" would page a whole server and an escape sequence rewrite the screen.
    @field_validator("platform")
    @classmethod
    def _a_connector_name(cls, platform: str) -> str:
        if not CONNECTOR_NAME.fullmatch(platform):
            raise ValueError(f"must be a connector's name: {NAME_RULE}")
        return platform

    @field_validator("external_id", mode="before")
    @classmethod
    def _id_as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @field_validator("tags")
    @classmethod
    def _tags_as_the_queue_keeps_them(cls, tags: list[str]) -> list[str]:
        try:
            return [clean_tag(tag) for tag in tags]
        except TriageError as exc:
            raise ValueError(str(exc)) from None

    @field_validator("assignee")
    @classmethod
    def _assignee_as_triage_keeps_it(cls, assignee: str | None) -> str | None:
        # A blank one is unassigned (None), or the mention is missing from the "Unassigned" view.
        try:
            return clean_assignee(assignee)
        except TriageError as exc:
            raise ValueError(str(exc)) from None

    @field_validator("first_response_at", "classified_at")
    @classmethod
    def _in_utc(cls, when: datetime | None, info: ValidationInfo) -> datetime | None:
        return None if when is None else in_utc(when, _TIME_NAMES[info.field_name], ValueError)


@dataclass
class ImportResult:
    lines: int = 0
    stored: int = 0
    duplicates: int = 0
    errors: list[str] = field(default_factory=list)


def _csv_cell(value: str) -> str:
    """A CSV cell: a formula starter, or an apostrophe the value starts with, gets one before it."""
    return "'" + value if value.startswith("'") else csv_safe(value)


def _csv_value(cell: str) -> str:
    """What `_csv_cell` was given. Exports until 2026-12-06 did not double an apostrophe: one before
    anything but a formula or another apostrophe (``'hello``) is the value's own, and is kept."""
    unquoted = cell[1:]
    return unquoted if cell.startswith("'") and (unquoted.startswith("'") or formula_like(unquoted)) else cell


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


def check_export_filters(db: Database, brand: str | None, platform: str | None,
                         configured_brands: Iterable[str] = (), configured_platforms: Iterable[str] = ()) -> None:
    """A mistyped --brand or --platform is an error, not an empty export over the user's last one.

    Known: the brand keys and connector names in the config, and whatever the database holds.
    """
    with db.read() as session:
        if brand is not None:
            brands = set(configured_brands) | set(session.scalars(select(Brand.key)))
            if brand not in brands:
                raise ConfigError(f"--brand: no brand {brand!r} (known: {', '.join(sorted(brands)) or 'none'})")
        if platform is not None and platform not in set(configured_platforms):
            # The (platform, external_id) key's index answers this without reading the mentions.
            if not session.scalar(select(exists().where(Mention.platform == platform))):
                platforms = set(configured_platforms) | set(session.scalars(select(Mention.platform).distinct()))
                # Stored ones may predate the import's check of platform names: shown escaped.
                known = ", ".join(terminal_safe(name) for name in sorted(platforms)) or "none"
                raise ConfigError(f"--platform: no platform {platform!r} (known: {known})")


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
        writer.writerow({k: _csv_cell(v) if isinstance(v, str) else v for k, v in row.items()})
        count += 1
    return count


@contextmanager
def utf8_stdout() -> Iterator[IO[str]]:
    """Standard output as UTF-8 text, as every file mentiondesk writes, whatever the locale: under a Latin-1 or
    cp1252 one `export > backup.jsonl` wrote a backup that `import` (UTF-8 only) refused line by line wherever
    a customer wrote an accent, or stopped with a traceback at the first emoji (until 2026-12-07)."""
    sys.stdout.flush()
    out = io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8", newline="", write_through=True)
    try:
        yield out
    finally:
        # All of it out before the command says so (a reader gone, `| head`, stops it here), and standard output
        # left open for what it says next.
        out.detach()


def write_export_file(records: Iterator[dict[str, Any]], path: Path, fmt: Format) -> int:
    """`write_export` into ``path``, which is replaced only once the export is complete."""
    return write_file_atomically(path, lambda out: write_export(records, out, fmt))


def write_file_atomically(path: Path, write: Callable[[IO[Any]], T], errors: str = "strict", binary: bool = False) -> T:
    """Run ``write`` on a temporary file beside ``path`` and put it in place of ``path`` once it is done.

    So a failure part-way (disk full, a database error) leaves the previous file as it was. A path
    that is not a regular file (/dev/null, a pipe) is written straight into, as it cannot be replaced.
    Returns what ``write`` returns (a count, say). ``write`` gets UTF-8 text, with ``errors`` as the encoding's
    error handler, or with ``binary`` bytes. An OSError from ``write`` that names no file is taken to be
    about ``path``: a ``write`` that reads a file too reports its read errors as another exception (as
    `mentiondesk classify` does).
    """

    def opened(file: Path | int) -> IO[Any]:
        return open(file, "wb") if binary else open(file, "w", encoding="utf-8", errors=errors, newline="")

    if (inherited := inherited_descriptor(path)) is not None:
        # The shell's own file, written where it stands: `>> log` appends. Followed as a path to a regular
        # file, the log was replaced by this output alone (until 2026-12-07).
        sys.stdout.flush()
        sys.stderr.flush()
        with opened(os.dup(inherited)) as out:
            return write(out)
    try:  # stat follows links: /dev/stdout is the pipe or terminal it stands for
        previous_mode: int | None = os.stat(path).st_mode
    except FileNotFoundError:
        previous_mode = None
    if previous_mode is not None and not stat.S_ISREG(previous_mode):
        with opened(path) as out:
            return write(out)
    # Through a symlink to a file, so the link stays a link (resolving /dev/stdout into a pipe gave
    # /proc/…/fd/pipe:[…], which no file can be put beside).
    target = Path(os.path.realpath(path))
    temporary = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
    try:
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except OSError as exc:  # name the file the user asked for, not the temporary one
        raise OSError(exc.errno, exc.strerror, str(path)) from None
    with _terminated_as_exception():
        try:
            with opened(descriptor) as out:
                if previous_mode is not None:  # a file someone made private stays private
                    os.chmod(temporary, stat.S_IMODE(previous_mode))
                written = write(out)
                out.flush()
                os.fsync(descriptor)
            os.replace(temporary, target)
        except BaseException as exc:
            temporary.unlink(missing_ok=True)
            if isinstance(exc, OSError) and exc.filename is None:  # "disk full" alone does not say which disk
                raise OSError(exc.errno, exc.strerror, str(path)) from None
            raise
    return written


class Terminated(BaseException):
    """SIGTERM, raised where the process stood: a BaseException, as KeyboardInterrupt is, so that no
    `except Exception` takes it for an error and goes on."""


@contextmanager
def _terminated_as_exception() -> Iterator[None]:
    """SIGTERM raised as `Terminated` inside, then the process ended by it as before: its default action ends
    the process where it stands, which left the part-written temporary file beside the output. Only where
    SIGTERM has that default action and only in the main thread, where Python runs signal handlers; a command
    with handlers of its own (`run`, `classify-pending --watch`) keeps them."""
    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL):
        yield
        return

    def terminate(signum: int, frame: object) -> None:
        raise Terminated(signum)

    signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    except Terminated:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.raise_signal(signal.SIGTERM)  # ends the process, the temporary file removed
        raise  # SIGTERM blocked (sigprocmask), so only pending: the exception goes on
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


_DESCRIPTOR_PATH = re.compile(r"/(?:dev/fd|proc/self/fd|proc/(\d+)/fd)/(\d+)")
_STANDARD_STREAMS = {"/dev/stdin": 0, "/dev/stdout": 1, "/dev/stderr": 2}


def inherited_descriptor(path: Path) -> int | None:
    """The number of this process's open file that ``path`` names (``/dev/stdout``, ``/dev/fd/3``,
    ``/proc/self/fd/3``), else None: such a path is a stream the shell opened (``> out``, ``>> log``), not a
    file to put another in place of."""
    name = os.path.abspath(path)
    if name in _STANDARD_STREAMS:
        return _STANDARD_STREAMS[name]
    match = _DESCRIPTOR_PATH.fullmatch(name)
    if match is None or (match[1] is not None and int(match[1]) != os.getpid()):
        return None
    return int(match[2])


def open_import(path: Path) -> IO[str]:
    """``path`` as UTF-8 text for `import_mentions`, in which each undecodable byte is kept as a lone
    surrogate: so one bad byte costs only its line (or CSV record), the lines and CSV quoting across
    them stay intact, and `_undecodable` can say where the byte was. A byte-order mark is dropped.
    """
    return path.open(encoding="utf-8-sig", errors="surrogateescape", newline="")


def _undecodable(line: str) -> str | None:
    found = _UNDECODED_BYTE.search(line)
    if found is None:
        return None
    position = len(line[:found.start()].encode("utf-8", "surrogateescape"))
    return f"not UTF-8 (byte 0x{ord(found.group()) - 0xDC00:02x} at position {position})"


def _csv_records(source: Iterable[str]) -> Iterator[tuple[str, dict[str, Any] | str]]:
    """(where, record or error text), where a record is "line 3", or "lines 3-9" if its quoted text runs across
    lines. Read strictly: a quote left open takes the lines after it as its cell's text up to a later cell's
    opening quote, which strict reading then refuses, rather than storing the records between as one text."""
    undecodable: list[tuple[int, str]] = []  # (line number, problem) among the lines of the record being read
    first_line: int | None = None  # of the record being read: blank lines between records are none of theirs
    last_read = 0  # the number of the line the reader took last: where a record it cannot parse ends

    def lines() -> Iterator[str]:
        nonlocal first_line, last_read
        for number, line in enumerate(source, start=1):
            last_read = number
            if first_line is None and line.strip("\r\n"):
                first_line = number
            if problem := _undecodable(line):
                undecodable.append((number, problem))
            yield line

    def record_read() -> tuple[str, int]:
        """Where the record the reader took stands ("line 3", "lines 3-9"), and its first line; the next record
        starts after it."""
        nonlocal first_line
        first, first_line = first_line or last_read, None
        return f"line {first}" if first == last_read else f"lines {first}-{last_read}", first

    csv.field_size_limit(max(csv.field_size_limit(), CSV_FIELD_LIMIT))
    reader = csv.DictReader(lines(), strict=True)
    try:
        header = reader.fieldnames  # asking for the field names reads the header
    except csv.Error as exc:
        raise IngestError(f"line 1: not valid CSV ({exc}): the CSV header must be readable; "
                          "nothing was imported") from None
    if header is not None and undecodable:
        number, problem = undecodable[0]
        raise IngestError(f"line {number}: {problem}: the CSV header must be readable; nothing was imported")
    # A row keeps one cell a name: a second "text" column (pasted in a spreadsheet) emptied every complaint.
    if repeated := sorted({name for name in header or () if header.count(name) > 1}):
        raise IngestError(f"line 1: the CSV header names {', '.join(map(repr, repeated))} more than once; "
                          "nothing was imported")
    record_read()
    rows = iter(reader)
    while True:
        try:
            row = next(rows)
        except StopIteration:
            return
        except csv.Error as exc:  # a quote left open, a NUL, an oversized field: that record is bad, the reader goes on
            undecodable.clear()
            where, first = record_read()
            left_open = f"; is the quote on line {first} left open?" if first != last_read else ""
            yield where, f"not valid CSV ({exc}){left_open}"
            continue
        where, _ = record_read()
        if undecodable:  # `csv` reads no further than the record's last line: these are this record's
            number, problem = undecodable[0]
            undecodable.clear()
            yield f"line {number}", problem
            continue
        # Cells past the header's, a comma in a cell not in quotes, were dropped (until 2026-12-07); empty ones,
        # a spreadsheet's trailing commas, hold nothing. What is left of the row is a cell per column.
        extra = row.pop(None, [])
        if any(extra):
            yield where, (f"{len(row) + len(extra)} cells where the header names {len(row)} columns: "
                          "a cell holding a comma must be in quotes")
            continue
        record: dict[str, Any] = {}
        try:
            for key, value in row.items():
                if key == "classified_at" and value == "":  # not classified; a file from before has no such column
                    record[key] = None
                    continue
                if value is None or (value == "" and key != "text"):  # a post can be empty
                    continue
                value = _csv_value(value)
                record[key] = json.loads(value, object_pairs_hook=unique_keys) if key in _JSON_FIELDS else value
        except json.JSONDecodeError:
            yield where, f"column {key!r} must hold JSON"
            continue
        except (ValueError, RecursionError) as exc:
            yield where, f"column {key!r}: {unreadable_json(exc)}"
            continue
        yield where, record


def _read_lines(source: Iterable[str], fmt: Format) -> Iterator[tuple[str, dict[str, Any] | str]]:
    """Yields (where, record or error text): "line 3", or "lines 3-9" for a CSV record across lines."""
    if fmt == "jsonl":
        for number, raw_line in enumerate(source, start=1):
            # Any number of byte-order marks may start a line: files that each begin with one, concatenated,
            # an empty one among them.
            line = raw_line.lstrip("\ufeff")
            if not line.strip():
                continue
            where = f"line {number}"
            if problem := _undecodable(line):
                yield where, problem
                continue
            try:
                value = json.loads(line, object_pairs_hook=unique_keys)
            except json.JSONDecodeError as exc:
                yield where, f"not valid JSON ({exc.msg} at column {exc.colno})"
                continue
            except (ValueError, RecursionError) as exc:
                yield where, unreadable_json(exc)
                continue
            yield where, value if isinstance(value, dict) else "expected a JSON object"
        return
    yield from _csv_records(source)


def _classified_at(record: MentionRecord, fetched_at: datetime) -> datetime | None:
    """When ``record``'s mention was classified (None: not yet, so a classify worker takes it), which
    `mentiondesk retriage` ages it by: stamped with the import's time, every imported priority moved with
    unchanged rules. A labelled record from an export before the field (until 2026-12-07) was classified as
    a worker classifies: right after it was fetched."""
    if record.sentiment_label is None:
        return None
    return record.classified_at if "classified_at" in record.model_fields_set else fetched_at


def _odd_time(row: dict[str, Any], now: datetime) -> str | None:
    """Why a record's response or classification time cannot be right, if it cannot: an answer before the post
    (a time zone mixed up in a spreadsheet) counted as an SLA met at once, one in year 1 or 9999 made a brand's
    average first response a million days, and either time more than a day ahead or before 1990 is no time a
    mention was handled. Refused as a bad line, where ingest's times are replaced: no time stands in for them."""
    answered = row.get("first_response_at")
    if answered is not None and answered < row["created_at"]:
        return (f"{_TIME_NAMES['first_response_at']} ({answered.isoformat()}) is before the post "
                f"({row['created_at'].isoformat()}); correct its time zone")
    for name in ("first_response_at", "classified_at"):
        when = row.get(name)
        if when is not None and unbelievable(when, now):
            return f"{_TIME_NAMES[name]} ({when.isoformat()}) is more than a day ahead or before 1990"
    return None


def import_mentions(db: Database, source: IO[str], fmt: Format, actor: Principal, batch_size: int = 500) -> ImportResult:
    """Store every valid record (existing ones are skipped); a bad line is reported, not fatal.

    Open a file with `open_import`, so that a line that is not UTF-8 is one bad line. A record's brand must be
    stored already: `mentiondesk import` stores the config's brands first, as `poll` does.
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
        # A mention twice in the file is stored as it first came (as store_mentions keeps the first row),
        # so its tags are those of that record: both records' tags made the same tag rows twice.
        tags_by_key: dict[tuple[str, str], list[str]] = {}
        for record, _ in batch:
            tags_by_key.setdefault((record.platform, record.external_id), record.tags)
        tagged = {key: tags for key, tags in tags_by_key.items() if tags}
        with db.write() as session:
            new_ids = set(store_mentions(session, [row for _, row in batch]))
            if tagged and new_ids:
                ids = dict(((p, e), i) for i, p, e in session.execute(
                    select(Mention.id, Mention.platform, Mention.external_id)
                    .where(tuple_(Mention.platform, Mention.external_id).in_(list(tagged)))))
                for key, tags in tagged.items():
                    mention_id = ids.get(key)
                    if mention_id in new_ids:
                        session.add_all(MentionTag(mention_id=mention_id, tag=t) for t in sorted(set(tags)))
            result.stored += len(new_ids)
            result.duplicates += len(batch) - len(new_ids)
            if new_ids:
                audit.record(session, actor.name, "import", count=len(new_ids))
        batch.clear()

    known_brands = ", ".join(sorted(brand_ids)) or "none"
    for where, item in _read_lines(source, fmt):
        result.lines += 1
        if isinstance(item, str):
            result.errors.append(f"{where}: {item}")
            continue
        try:
            # Every field, not only those normalise cleans: one NUL in an assignee or a tag made
            # PostgreSQL refuse the whole batch of 500.
            record = MentionRecord.model_validate(storable(item))
            if record.brand is not None and record.brand not in brand_ids:
                raise IngestError(f"brand {record.brand!r} is not in the config (known: {known_brands})")
            raw = dict(record.raw)
            if record.model_extra:
                raw["imported_fields"] = record.model_extra
            now = utcnow()
            fetched_at = record.fetched_at or now
            if unbelievable(fetched_at, now):  # dated now, as ingest dates such a post; what came is kept
                raw["fetched_at_as_sent"] = fetched_at.isoformat()
                fetched_at = now
            fetched = FetchedMention(
                platform=record.platform, external_id=record.external_id, text=record.text,
                created_at=record.created_at, url=record.url, author_handle=record.author_handle,
                author_name=record.author_name, author_followers=record.author_followers, lang=record.lang,
                thread_id=record.thread_id, parent_id=record.parent_id, replyable=record.replyable, raw=raw,
            )
            row = normalise(fetched, brand_id=brand_ids.get(record.brand or ""), query_id=None,
                            fetched_at=fetched_at.astimezone(timezone.utc))
        except ValidationError as exc:
            first = exc.errors(include_input=False, include_url=False)[0]
            field_path = ".".join(str(p) for p in first["loc"]) or "record"
            result.errors.append(f"{where}: {field_path}: {first['msg']}")
            continue
        except IngestError as exc:
            result.errors.append(f"{where}: {exc}")
            continue
        except RecursionError as exc:  # nesting json.loads read but too deep to clean (storable walks it)
            result.errors.append(f"{where}: {unreadable_json(exc)}")
            continue
        row.update({name: getattr(record, name) for name in _TRIAGE_FIELDS})
        row["status"] = record.status.value
        row["classified_at"] = _classified_at(record, row["fetched_at"])
        if problem := _odd_time(row, now):
            result.errors.append(f"{where}: {problem}")
            continue
        batch.append((record, row))
        if len(batch) >= batch_size:
            flush()
    flush()
    return result
