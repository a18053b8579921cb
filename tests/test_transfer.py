import csv
import errno
import io
import json
import os
import signal
import stat
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from connectors.base import FetchResult
from monitor.access import local_operator
from monitor.cli import cli
from monitor.config import Config
from monitor.errors import ConfigError, IngestError
from monitor.ingest import ingest_page, sync_brands
from monitor.models import Mention, MentionTag, utcnow
from monitor.queue import QueueFilters, fetch_page
from monitor.storage import Database
from monitor.text import formula_like
from monitor.transfer import (check_export_filters, import_mentions, iter_export, open_import, write_export,
                              write_export_file, write_file_atomically)
from tests.connector_doubles import mention

CONFIG = Config.from_dict({"brands": [{"name": "Acme", "keywords": ["acme"]}], "connectors": {"sample": {}}}, env={})
OPERATOR = local_operator()


def seed(db: Database) -> None:
    query_id = sync_brands(db, CONFIG.brands, {"sample": CONFIG.queries_for("sample")})[("sample", "acme")]
    page = [mention("sample", 1, text='=HYPERLINK("http://evil")', lang="en", author_followers=10),
            mention("sample", 2, text="¿Dónde está mi pedido? 😡\nline two", raw={"k": [1, 2]}, replyable=False)]
    ingest_page(db, connector="sample", query_id=query_id, result=FetchResult(page, next_cursor="2"))
    with db.write() as session:
        first = session.scalars(select(Mention).where(Mention.external_id == "1")).one()
        first.sentiment_label, first.sentiment_score, first.intent, first.status = "negative", 0.9, "complaint", "open"
        first.sentiment_scores = {"negative": 0.9, "neutral": 0.07, "positive": 0.03}
        session.add(MentionTag(mention_id=first.id, tag="billing"))


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_export_then_import_round_trips(db: Database, tmp_path: Path, fmt: str) -> None:
    seed(db)
    buffer = io.StringIO()
    assert write_export(iter_export(db), buffer, fmt) == 2
    if fmt == "csv":
        assert "'=HYPERLINK" in buffer.getvalue()  # a spreadsheet must not run mention text as a formula
    target = Database.open(f"sqlite:///{tmp_path / 'copy.db'}")
    target.upgrade()
    sync_brands(target, CONFIG.brands, {})
    result = import_mentions(target, io.StringIO(buffer.getvalue()), fmt, OPERATOR)
    assert (result.stored, result.duplicates, result.errors) == (2, 0, [])
    assert list(iter_export(target)) == list(iter_export(db))
    again = import_mentions(target, io.StringIO(buffer.getvalue()), fmt, OPERATOR)
    assert (again.stored, again.duplicates) == (0, 2)


def test_a_csv_export_with_a_large_raw_payload_imports_again(sqlite_db: Database, tmp_path: Path) -> None:
    # An RSS entry's full content can pass the csv module's 128 KiB field limit; the import then stopped.
    query_id = sync_brands(sqlite_db, CONFIG.brands, {"sample": CONFIG.queries_for("sample")})[("sample", "acme")]
    big = mention("sample", 1, raw={"content": "acme " * 60_000})
    ingest_page(sqlite_db, connector="sample", query_id=query_id, result=FetchResult([big], next_cursor="1"))
    buffer = io.StringIO()
    assert write_export(iter_export(sqlite_db), buffer, "csv") == 1
    target = Database.open(f"sqlite:///{tmp_path / 'copy.db'}")
    target.upgrade()
    sync_brands(target, CONFIG.brands, {})
    result = import_mentions(target, io.StringIO(buffer.getvalue()), "csv", OPERATOR)
    assert (result.stored, result.errors) == (1, [])
    assert list(iter_export(target)) == list(iter_export(sqlite_db))


def test_a_csv_field_past_the_limit_costs_only_its_record(sqlite_db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    # Past the limit (64 MiB; say an unbalanced quote runs a field to the end of a huge file) the
    # csv module raises: that record is reported, the rest still imported.
    sync_brands(sqlite_db, CONFIG.brands, {})
    monkeypatch.setattr("monitor.transfer.CSV_FIELD_LIMIT", 1000)
    previous = csv.field_size_limit(1000)
    try:
        rows = [f"sample,{n},2026-11-01T09:00:00+00:00,{text}" for n, text in [(1, "x" * 2000), (2, "fine")]]
        result = import_mentions(sqlite_db, io.StringIO("platform,external_id,created_at,text\n" + "\n".join(rows)),
                                 "csv", OPERATOR)
        with pytest.raises(IngestError, match=r"line 1: not valid CSV .*header must be readable; nothing was imported"):
            import_mentions(sqlite_db, io.StringIO(f"platform,{'x' * 2000}\n"), "csv", OPERATOR)
    finally:
        csv.field_size_limit(previous)
    assert result.stored == 1 and result.errors == ["line 2: not valid CSV (field larger than field limit (1000))"]


def test_imported_triage_fields_are_stored_as_the_queue_keeps_them(db: Database) -> None:
    # A NUL in one assignee made PostgreSQL refuse the whole batch: nothing of the file was stored.
    sync_brands(db, CONFIG.brands, {})
    lines = [{"assignee": "ana\u0000", "tags": ["Billing   Issue", "caf\udce9"]}, {"tags": ["x" * 101]}, {}]
    source = "\n".join(json.dumps({"platform": "x", "external_id": str(n), "text": "acme", "brand": "acme",
                                   "created_at": "2026-11-01T09:00:00+00:00", **extra}) for n, extra in enumerate(lines))
    result = import_mentions(db, io.StringIO(source), "jsonl", OPERATOR)
    assert result.stored == 2 and len(result.errors) == 1, result.errors
    assert result.errors[0].startswith("line 2:") and "a tag can be at most 100 characters" in result.errors[0]
    with db.read() as session:
        first = session.scalars(select(Mention).where(Mention.external_id == "0")).one()
        assert first.assignee == "ana" and sorted(t.tag for t in first.tags) == ["billing issue", "caf\ufffd"]


def test_bad_lines_are_reported_with_their_number_and_skipped(sqlite_db: Database) -> None:
    good = {"platform": "x", "external_id": 17, "text": "hi @acme", "created_at": "2026-11-01T10:00:00Z", "mood": "meh"}
    lines = [
        json.dumps(good),
        "{not json",
        json.dumps({**good, "external_id": "18", "created_at": "2026-11-01T10:00:00"}),
        json.dumps({**good, "external_id": "19", "sentiment_label": "angry"}),
        json.dumps({**good, "external_id": "20", "brand": "unknown"}),
        "[1, 2]",
        json.dumps({**good, "external_id": "21", "sentiment_scores": {"negative": 1.5}}),
    ]
    result = import_mentions(sqlite_db, io.StringIO("\n".join(lines) + "\n"), "jsonl", OPERATOR)
    assert result.stored == 1
    assert [e.split(":")[0] for e in result.errors] == ["line 2", "line 3", "line 4", "line 5", "line 6", "line 7"]
    assert "created_at" in result.errors[1] and "sentiment_label" in result.errors[2]
    assert "sentiment_scores.negative" in result.errors[5]
    with sqlite_db.read() as session:
        kept = session.scalars(select(Mention)).one()
    assert kept.external_id == "17" and kept.raw == {"imported_fields": {"mood": "meh"}}


def test_cli_export_and_import(tmp_path: Path) -> None:
    config = tmp_path / "mentiondesk.toml"
    runner = CliRunner()
    runner.invoke(cli, ["--config", str(config), "init"])
    assert runner.invoke(cli, ["--config", str(config), "poll", "--once"]).exit_code == 0
    out = tmp_path / "all.csv"
    exported = runner.invoke(cli, ["--config", str(config), "export", "-o", str(out), "--brand", "acme"])
    assert exported.exit_code == 0 and "exported 60 mention(s)" in exported.output
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"platform": "x"}\n')
    result = runner.invoke(cli, ["--config", str(config), "import", str(bad)])
    assert result.exit_code == 1 and "line 1: external_id: Field required" in result.output
    back = runner.invoke(cli, ["--config", str(config), "import", str(out)])
    assert back.exit_code == 0 and "imported 0 new, 60 already stored, 0 bad line(s)" in back.output
    db = Database.open(f"sqlite:///{tmp_path / 'home' / 'mentiondesk.db'}")
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(Mention)) == 60


def _cli_config(tmp_path: Path) -> list[str]:
    config = tmp_path / "mentiondesk.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "m.db"}"\n[[brands]]\nname = "Acme"\n'
                      'keywords = ["acme"]\n[sentiment]\nbackend = "none"\n[connectors.sample]\n')
    return ["--config", str(config)]


def _jsonl(*records: dict[str, object]) -> str:
    base = {"platform": "mastodon", "text": "hi @acme", "created_at": "2026-11-01T10:00:00Z", "brand": "acme"}
    return "".join(json.dumps({**base, **r}, ensure_ascii=False) + "\n" for r in records)


def test_an_unknown_brand_or_platform_is_refused_and_the_output_kept(tmp_path: Path) -> None:
    config, runner = _cli_config(tmp_path), CliRunner()
    stored = tmp_path / "stored.jsonl"
    stored.write_text(_jsonl({"external_id": "1"}))
    assert runner.invoke(cli, [*config, "import", str(stored)]).exit_code == 0
    out = tmp_path / "out.csv"
    out.write_text("precious\n")
    for option, value, message in [("--brand", "nosuch", "no brand 'nosuch' (known: acme)"),
                                    ("--platform", "nosuch", "no platform 'nosuch' (known: mastodon, sample)")]:
        result = runner.invoke(cli, [*config, "export", option, value, "-o", str(out)])
        assert result.exit_code == 2 and message in result.output, result.output
        assert out.read_text() == "precious\n"
        to_stdout = runner.invoke(cli, [*config, "export", option, value])
        assert to_stdout.exit_code == 2 and "platform,external_id" not in to_stdout.output
    # Known: a configured brand or connector (nothing stored yet), or a platform only the database has.
    for option, value, count in [("--brand", "acme", 1), ("--platform", "sample", 0), ("--platform", "mastodon", 1)]:
        result = runner.invoke(cli, [*config, "export", option, value, "-o", str(out)])
        assert result.exit_code == 0 and f"exported {count} mention(s)" in result.output, result.output


def test_export_filters_are_checked_against_the_database(db: Database) -> None:
    seed(db)
    check_export_filters(db, "acme", "sample")
    with pytest.raises(ConfigError, match=r"no brand 'other' \(known: acme\)"):
        check_export_filters(db, "other", None)
    with pytest.raises(ConfigError, match=r"no platform 'x' \(known: rss, sample\)"):
        check_export_filters(db, None, "x", configured_platforms=["rss"])


def test_a_failed_export_leaves_the_earlier_file_as_it_was(sqlite_db: Database, tmp_path: Path) -> None:
    seed(sqlite_db)
    out = tmp_path / "out.jsonl"
    out.write_text("precious\n")
    out.chmod(0o600)

    def disk_fills_up() -> Iterator[dict[str, object]]:
        yield from iter_export(sqlite_db)
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(OSError, match="No space left") as failed:
        write_export_file(disk_fills_up(), out, "jsonl")
    assert failed.value.filename == str(out) and out.read_text() == "precious\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary file left
    assert write_export_file(iter_export(sqlite_db), out, "jsonl") == 2
    assert len(out.read_text().splitlines()) == 2 and stat.S_IMODE(out.stat().st_mode) == 0o600


def test_cli_export_that_runs_out_of_space_keeps_the_earlier_file(tmp_path: Path) -> None:
    resource = pytest.importorskip("resource")  # POSIX file size limits: a real failed write part-way
    config, runner = _cli_config(tmp_path), CliRunner()
    big = tmp_path / "big.jsonl"
    big.write_text(_jsonl(*({"external_id": str(n), "text": "acme " * 200} for n in range(200))))
    assert runner.invoke(cli, [*config, "import", str(big)]).exit_code == 0
    out = tmp_path / "out.jsonl"
    out.write_text("precious\n")
    limits = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous_handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
    resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, limits[1]))
    try:
        result = runner.invoke(cli, [*config, "export", "-o", str(out)])
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, limits)
        signal.signal(signal.SIGXFSZ, previous_handler)
    assert out.read_text() == "precious\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary file left
    assert result.exit_code == 1 and f"Error: {out}: File too large" in result.output, result.output


def test_import_into_a_fresh_database_knows_the_configured_brands(tmp_path: Path) -> None:
    config, runner = _cli_config(tmp_path), CliRunner()
    three = tmp_path / "three.jsonl"
    three.write_text(_jsonl({"external_id": "1"}, {"external_id": "2"}, {"external_id": "3"}))
    result = runner.invoke(cli, [*config, "import", str(three)])
    assert result.exit_code == 0 and "imported 3 new, 0 already stored, 0 bad line(s)" in result.output, result.output
    other = tmp_path / "other.jsonl"
    other.write_text(_jsonl({"external_id": "4", "brand": "globex"}, {"external_id": "5"}))
    result = runner.invoke(cli, [*config, "import", str(other)])
    assert result.exit_code == 1 and "imported 1 new" in result.output
    assert "line 1: brand 'globex' is not in the config (known: acme)" in result.output


def test_a_line_that_is_not_utf8_is_reported_and_the_rest_imported(tmp_path: Path) -> None:
    config, runner = _cli_config(tmp_path), CliRunner()
    lines = _jsonl({"external_id": "1"}, {"external_id": "2", "text": "caf\u00e9"}, {"external_id": "3"}).encode()
    cp1252 = tmp_path / "cp1252.jsonl"
    cp1252.write_bytes(lines.replace("caf\u00e9".encode(), b"caf\xe9"))
    result = runner.invoke(cli, [*config, "import", str(cp1252)])
    assert result.exit_code == 1, result.output
    assert "line 2: not UTF-8 (byte 0xe9 at position 37)" in result.output
    assert "imported 2 new, 0 already stored, 1 bad line(s)" in result.output


def test_a_csv_record_that_is_not_utf8_costs_only_that_record(sqlite_db: Database, tmp_path: Path) -> None:
    seed(sqlite_db)  # its second mention's text spans two lines of the CSV
    line = {"platform": "sample", "external_id": "3", "text": "third", "created_at": "2026-11-01T10:00:00Z"}
    import_mentions(sqlite_db, io.StringIO(json.dumps(line)), "jsonl", OPERATOR)
    buffer = io.StringIO()
    write_export(iter_export(sqlite_db), buffer, "csv")
    data = b"\xef\xbb\xbf" + buffer.getvalue().encode().replace(b"line two", b"line tw\xe9")  # with a BOM, as Excel
    assert data.splitlines()[3].startswith(b"line tw\xe9")  # the 4th line: header, mention 1, mention 2 …
    target = Database.open(f"sqlite:///{tmp_path / 'copy.db'}")
    target.upgrade()
    sync_brands(target, CONFIG.brands, {})
    (tmp_path / "in.csv").write_bytes(data)
    with open_import(tmp_path / "in.csv") as source:
        result = import_mentions(target, source, "csv", OPERATOR)
    assert (result.stored, result.errors) == (2, ["line 4: not UTF-8 (byte 0xe9 at position 7)"])
    kept = {r["external_id"]: r for r in iter_export(target)}
    assert sorted(kept) == ["1", "3"] and kept["1"]["text"] == '=HYPERLINK("http://evil")'
    (tmp_path / "bad_header.csv").write_bytes(b"platform,external_id,t\xe9xt\r\nsample,9,hi\r\n")
    with open_import(tmp_path / "bad_header.csv") as source:
        with pytest.raises(IngestError, match="line 1: not UTF-8 .*the CSV header must be readable"):
            import_mentions(target, source, "csv", OPERATOR)


def test_an_imported_fetch_time_no_fetch_can_have_is_dated_now(db: Database) -> None:
    # A record claiming 9999 for both dates was stored as such: the post sorted above every real one
    # in the queue for good. Its dates are now the import's, and what it came with stays in raw.
    sync_brands(db, CONFIG.brands, {})
    base = {"platform": "x", "text": "acme", "brand": "acme"}
    far_end = "9999-12-31T23:00:00-05:00"  # year 10000 in UTC
    lines = [{"external_id": "far", "created_at": far_end, "fetched_at": far_end},
             {"external_id": "zero", "created_at": "2026-11-01T09:00:00Z", "fetched_at": "1970-01-01T00:00:00Z"},
             {"external_id": "kept", "created_at": "2026-11-01T09:00:00Z", "fetched_at": "2026-11-01T11:00:00+02:00"}]
    before = utcnow()
    source = io.StringIO("\n".join(json.dumps({**base, **line}) for line in lines))
    result = import_mentions(db, source, "jsonl", OPERATOR)
    assert (result.stored, result.errors) == (3, [])
    with db.read() as session:
        stored = {m.external_id: m for m in session.scalars(select(Mention))}
    far, zero, kept = stored["far"], stored["zero"], stored["kept"]
    assert before <= far.fetched_at <= utcnow() and far.created_at == far.fetched_at
    assert far.raw == {"fetched_at_as_sent": far_end, "created_at_as_sent": far_end}
    assert before <= zero.fetched_at <= utcnow() and zero.raw == {"fetched_at_as_sent": "1970-01-01T00:00:00+00:00"}
    assert zero.created_at == datetime(2026, 11, 1, 9, tzinfo=timezone.utc)
    assert kept.fetched_at == datetime(2026, 11, 1, 9, tzinfo=timezone.utc) and kept.raw == {}


def test_a_record_the_database_cannot_hold_costs_only_its_line(db: Database) -> None:
    # Each of these aborted the whole import with a database error and no line number: a follower
    # count past BIGINT (OverflowError on SQLite), one mention twice with tags (the same tag row
    # twice), an assignee past its 200-character column (PostgreSQL's DataError).
    sync_brands(db, CONFIG.brands, {})
    source = _jsonl({"external_id": "1"}, {"external_id": "2", "author_followers": 2**63},
                    {"external_id": "3", "tags": ["Billing"]}, {"external_id": "3", "tags": ["billing", "late"]},
                    {"external_id": "4", "assignee": "a" * 201}, {"external_id": "5", "author_followers": 2**63 - 1})
    result = import_mentions(db, io.StringIO(source), "jsonl", OPERATOR)
    assert (result.stored, result.duplicates) == (3, 1)
    assert [e.split(": ")[:2] for e in result.errors] == [["line 2", "author_followers"], ["line 5", "assignee"]]
    with db.read() as session:
        stored = {m.external_id: m for m in session.scalars(select(Mention))}
    assert sorted(stored) == ["1", "3", "5"] and stored["5"].author_followers == 2**63 - 1
    assert [t.tag for t in stored["3"].tags] == ["billing"]  # the record stored is the first, with its tags


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_an_answered_mention_is_still_answered_after_export_and_import(db: Database, tmp_path: Path,
                                                                       fmt: str) -> None:
    # Without its first response time an answered mention came back unanswered: overdue on the SLA.
    seed(db)
    answered = datetime(2026, 11, 1, 10, 20, tzinfo=timezone.utc)
    with db.write() as session:
        session.scalars(select(Mention).where(Mention.external_id == "1")).one().first_response_at = answered
    buffer = io.StringIO()
    write_export(iter_export(db), buffer, fmt)
    target = Database.open(f"sqlite:///{tmp_path / 'copy.db'}")
    target.upgrade()
    sync_brands(target, CONFIG.brands, {})
    assert import_mentions(target, io.StringIO(buffer.getvalue()), fmt, OPERATOR).errors == []
    with target.read() as session:
        times = dict(session.execute(select(Mention.external_id, Mention.first_response_at)).all())
    assert times == {"1": answered, "2": None}


def test_an_imported_first_response_time_must_fit_the_calendar(sqlite_db: Database) -> None:
    sync_brands(sqlite_db, CONFIG.brands, {})
    source = _jsonl({"external_id": "1", "first_response_at": "2026-11-01T12:00:00+01:00"},
                    {"external_id": "2", "first_response_at": "0001-01-01T00:00:00+05:00"})  # before year 1 in UTC
    result = import_mentions(sqlite_db, io.StringIO(source), "jsonl", OPERATOR)
    assert result.stored == 1 and len(result.errors) == 1, result.errors
    assert result.errors[0].startswith("line 2: first_response_at:") and "out of range" in result.errors[0]
    with sqlite_db.read() as session:
        assert session.scalars(select(Mention.first_response_at)).one() == datetime(2026, 11, 1, 11,
                                                                                     tzinfo=timezone.utc)


def test_a_blank_imported_assignee_is_unassigned(db: Database) -> None:
    # Stored as "", it was in no one's queue and not in the "Unassigned" view either.
    sync_brands(db, CONFIG.brands, {})
    source = _jsonl(*({"external_id": str(n), "status": "open", "assignee": assignee}
                      for n, assignee in enumerate(["", "  ", " ana ", None])))
    assert import_mentions(db, io.StringIO(source), "jsonl", OPERATOR).errors == []
    with db.read() as session:
        unassigned = fetch_page(session, QueueFilters(unassigned=True)).items
        assignees = dict(session.execute(select(Mention.external_id, Mention.assignee)).all())
    assert sorted(m.external_id for m in unassigned) == ["0", "1", "3"]
    assert assignees == {"0": None, "1": None, "2": "ana", "3": None}


def test_a_csv_value_starting_with_an_apostrophe_keeps_it(sqlite_db: Database, tmp_path: Path) -> None:
    # "'=SUM(A1)" was written as it is and read back as "=SUM(A1)": its apostrophe taken for the export's.
    sync_brands(sqlite_db, CONFIG.brands, {})
    texts = ["'=SUM(A1) is what I typed", "'+1 for acme", "'quoted' acme", "''", "=1+1", "plain"]
    source = _jsonl(*({"external_id": str(n), "text": text, "assignee": "'=bob", "status": "open"}
                      for n, text in enumerate(texts)))
    import_mentions(sqlite_db, io.StringIO(source), "jsonl", OPERATOR)
    buffer = io.StringIO()
    write_export(iter_export(sqlite_db), buffer, "csv")
    assert not [cell for row in csv.reader(io.StringIO(buffer.getvalue())) for cell in row if formula_like(cell)]
    target = Database.open(f"sqlite:///{tmp_path / 'copy.db'}")
    target.upgrade()
    sync_brands(target, CONFIG.brands, {})
    assert import_mentions(target, io.StringIO(buffer.getvalue()), "csv", OPERATOR).errors == []
    assert list(iter_export(target)) == list(iter_export(sqlite_db))
    # An export from before apostrophes were doubled: one before a formula is the export's, any other is real.
    old = ("platform,external_id,created_at,text\r\n"
           "x,old1,2026-11-01T10:00:00Z,'=1+1\r\nx,old2,2026-11-01T10:00:00Z,'hi\r\n")
    assert import_mentions(target, io.StringIO(old), "csv", OPERATOR).errors == []
    with target.read() as session:
        old_texts = dict(session.execute(select(Mention.external_id, Mention.text)
                                         .where(Mention.external_id.in_(["old1", "old2"]))).all())
    assert old_texts == {"old1": "=1+1", "old2": "'hi"}


def test_a_pipe_named_through_a_link_is_written_straight_into(tmp_path: Path) -> None:
    # `--output /dev/stdout | …`: the link's target was resolved to /proc/…/fd/pipe:[…], and a temporary
    # file beside that could not be made ("No such file or directory").
    read_end, write_end = os.pipe()
    try:
        assert write_file_atomically(Path(f"/dev/fd/{write_end}"), lambda out: out.write("one line\n")) == 9
    finally:
        os.close(write_end)
    with os.fdopen(read_end) as written:
        assert written.read() == "one line\n"
    assert list(tmp_path.iterdir()) == []
