"""`mentiondesk report`: a PDF or PNG of the analytics figures for a date range."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from sqlalchemy import update

pytest.importorskip("matplotlib")

from monitor.cli import App  # noqa: E402
from monitor.models import Brand  # noqa: E402
from monitor.report import report_command, write  # noqa: E402
from monitor.storage import Database  # noqa: E402
from tests.test_dashboard_fixtures import add_brand, add_mention  # noqa: E402


@pytest.fixture
def config(tmp_path: Path) -> Path:
    db_path = tmp_path / "r.db"
    path = tmp_path / "mentiondesk.toml"
    path.write_text(f'[database]\nurl = "sqlite:///{db_path}"\n\n[[brands]]\nname = "Acme"\nkeywords = ["acme"]\n\n'
                    '[connectors.sample]\n', encoding="utf-8")
    db = Database.open(f"sqlite:///{db_path}")
    db.upgrade()
    acme = add_brand(db, "Acme")
    for day in (1, 2, 30):
        add_mention(db, brand_id=acme, platform="x", created_at=datetime(2026, 11, day, 9, tzinfo=timezone.utc),
                    sentiment_label="negative", intent="complaint", text="=cmd() refund #late")
    db.dispose()
    return path


def _run(config: Path, *args: str) -> click.testing.Result:
    @click.group()
    @click.pass_context
    def cli(ctx: click.Context) -> None:
        ctx.obj = App(config)

    cli.add_command(report_command)
    return CliRunner().invoke(cli, ["report", *args])


@pytest.mark.parametrize("name, magic", [("report.pdf", b"%PDF"), ("report.png", b"\x89PNG")])
def test_writes_a_pdf_or_png(config: Path, tmp_path: Path, name: str, magic: bytes) -> None:
    out = tmp_path / name
    result = _run(config, "--from", "2026-11-01", "--to", "2026-11-30", "--brand", "acme", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(magic)


def test_the_to_day_is_included(config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen = []
    monkeypatch.setattr("monitor.report.write", lambda report, title, out: seen.append(report))
    assert _run(config, "--from", "2026-11-02", "--to", "2026-11-30", "--out", str(tmp_path / "r.pdf")).exit_code == 0
    assert sum(v.count for v in seen[0].volume) == 2


def test_bad_arguments_are_reported(config: Path, tmp_path: Path) -> None:
    unknown = _run(config, "--from", "2026-11-01", "--to", "2026-11-30", "--brand", "nope", "--out", str(tmp_path / "r.pdf"))
    assert unknown.exit_code != 0 and "no brand 'nope'" in str(unknown.exception or unknown.output)
    wrong = _run(config, "--from", "2026-11-01", "--to", "2026-11-30", "--out", str(tmp_path / "r.txt"))
    assert wrong.exit_code == 2 and ".pdf or .png" in wrong.output
    backwards = _run(config, "--from", "2026-11-30", "--to", "2026-11-01", "--out", str(tmp_path / "r.pdf"))
    assert backwards.exit_code == 2


def test_the_page_spans_the_whole_range_and_says_when_a_chart_is_empty(config: Path, tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from matplotlib.dates import num2date

    from monitor.report import render

    figures = []
    monkeypatch.setattr("monitor.report.write", lambda report, title, out: figures.append(render(report, title)))
    assert _run(config, "--from", "2026-11-01", "--to", "2026-11-30", "--out", str(tmp_path / "r.png")).exit_code == 0
    volume, sentiment, *_ = figures[0].axes
    for ax in (volume, sentiment):  # three days with mentions, but the axis is the month asked for
        assert [num2date(x).date().isoformat() for x in ax.get_xlim()] == ["2026-11-01", "2026-12-01"]
    texts = [t.get_text() for ax in figures[0].axes for t in ax.texts]
    assert "nothing in this range" in texts  # nobody answered: no first-response times to draw
    week = next(ax for ax in figures[0].axes if ax.get_title(loc="left") == "Week over week")
    cells = {c.get_text().get_text() for c in week.tables[0].get_celld().values()}
    assert "0.00" not in cells  # counts are whole numbers, shares are percentages


def test_a_to_day_past_the_calendar_is_a_clear_error(config: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.pdf"
    result = _run(config, "--from", "2026-11-01", "--to", "9999-12-31", "--out", str(out))
    assert result.exit_code == 2, result.output
    assert "Invalid value for --to: the last day a report can cover is 9999-12-30" in result.output
    assert not out.exists()
    assert _run(config, "--from", "2026-11-01", "--to", "9999-12-30", "--out", str(out)).exit_code == 0


def test_a_wrong_file_name_is_refused_before_the_report_is_built(config: Path, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    built = []
    monkeypatch.setattr("monitor.report.analytics.build_report", lambda *args, **kwargs: built.append(args))
    wrong = _run(config, "--from", "2026-11-01", "--to", "2026-11-30", "--out", str(tmp_path / "r.txt"))
    assert wrong.exit_code == 2 and "Invalid value for --out: the file name must end in .pdf or .png" in wrong.output
    assert built == [] and not (tmp_path / "r.txt").exists()


def test_competitors_count_only_in_share_of_voice(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Without --brand the report counted a competitor's posts in every figure: nobody answers those, so
    # they showed as overdue SLA, backlog and complaint terms. The Analytics page leaves them out.
    db_path, config = tmp_path / "r.db", tmp_path / "mentiondesk.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{db_path}"\n[[brands]]\nname = "Acme"\nkeywords = ["acme"]\n'
                      '[[brands]]\nname = "Rival"\nkeywords = ["rival"]\ncompetitor = true\n[connectors.sample]\n')
    db = Database.open(f"sqlite:///{db_path}")
    db.upgrade()
    acme, rival = add_brand(db, "Acme"), add_brand(db, "Rival")
    with db.write() as session:  # the report reads the stored flag, as `poll` and the dashboard store it
        session.execute(update(Brand).where(Brand.id == rival).values(competitor=True))
    posted = datetime(2026, 11, 2, 9, tzinfo=timezone.utc)
    add_mention(db, brand_id=acme, created_at=posted, first_response_at=posted + timedelta(minutes=10),
                status="resolved", priority=80.0, intent="complaint", text="acme app broken")
    for _ in range(3):
        add_mention(db, brand_id=rival, created_at=posted, status="new", priority=80.0, intent="complaint",
                    text="rival prices too high")
    db.dispose()
    seen = {}
    monkeypatch.setattr("monitor.report.write", lambda report, title, out: seen.update({title: report}))
    for brand in ([], ["--brand", "rival"]):
        result = _run(config, "--from", "2026-11-01", "--to", "2026-11-07", *brand, "--out", str(tmp_path / "r.png"))
        assert result.exit_code == 0, result.output
    title = "mentiondesk report 2026-11-01 – 2026-11-07"
    ours, theirs = seen[title], seen[f"{title} · rival"]
    assert sum(v.count for v in ours.volume) == 1 and sum(c.count for c in ours.backlog) == 0
    assert ours.responses.attainment.rate == 1.0 and "prices" not in [c.key for c in ours.top_terms]
    assert [(s.key, s.mentions) for s in ours.share_of_voice] == [("rival", 3), ("acme", 1)]
    assert sum(v.count for v in theirs.volume) == 3  # asked for by name, a competitor is reported on


def test_a_report_of_the_first_days_of_year_1_is_written(config: Path, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    # Its week-over-week table reached back before year 1: an OverflowError traceback.
    titles = []
    monkeypatch.setattr("monitor.report.write", lambda report, title, out: (titles.append(title),
                                                                             write(report, title, out)))
    out = tmp_path / "r.png"
    result = _run(config, "--from", "0001-01-01", "--to", "0001-01-02", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(b"\x89PNG") and titles == ["mentiondesk report 0001-01-01 – 0001-01-02"]
