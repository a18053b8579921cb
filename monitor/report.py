"""`mentiondesk report`: the analytics figures for a date range as a PDF or PNG, drawn with matplotlib.

    mentiondesk report --from 2026-11-01 --to 2026-11-30 [--brand acme] --out report.pdf

The figures are those of the dashboard's Analytics page (:func:`monitor.analytics.build_report`);
``--to`` is inclusive (the whole day, UTC). As on the page, competitor brands are counted only in share
of voice unless ``--brand`` names one. Mention text only ever appears as chart labels.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import click
from sqlalchemy import select

from monitor import analytics, queue
from monitor.analytics import Report
from monitor.cli_types import refuse_own_files
from monitor.errors import ConfigError
from monitor.models import Brand, utcnow

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from monitor.cli import App

FORMATS = {".pdf": "pdf", ".png": "png"}
# ``--to`` is inclusive, so the range ends at midnight after it: that day must exist.
LAST_TO_DAY = date.max - timedelta(days=1)


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


# Characters of a name from the data beside a chart's bars or in its legend: a 95-character hashtag among the top
# terms squeezed every chart of the page into a quarter of its width.
MAX_LABEL = 20


def _label(text: str, width: int | None = None) -> str:
    """A name from the data as a chart label, cut to ``width`` characters: matplotlib reads text between two
    "$" as a formula (mathtext), so "$$ Bank" failed the whole report and "A$_$B" drew a subscript; "\\$" is a "$"."""
    if width is not None and len(text) > width:
        text = text[:width - 1] + "…"
    return text.replace("$", r"\$")


def _empty(ax: "Axes") -> None:
    """A chart with nothing to draw says so, instead of showing bare axes."""
    ax.set_xticks([])
    ax.set_yticks([])
    ax.text(0.5, 0.5, "nothing in this range", ha="center", va="center", transform=ax.transAxes, fontsize=9,
            color="#666666")


def _barh(ax: "Axes", title: str, labels: list[str], values: list[float], color: str = "#1f77b4") -> None:
    ax.set_title(title, loc="left", fontsize=10)
    if not any(values):
        _empty(ax)
        return
    # By position: two names cut to one label stay two bars.
    ax.barh(range(len(values)), values[::-1], color=color)
    ax.set_yticks(range(len(values)), [_label(label, MAX_LABEL) for label in labels[::-1]])
    ax.tick_params(labelsize=8)


# What a bar covers of its day or week: the gap between bars keeps neighbouring buckets apart.
BAR_SHARE = 0.8
BUCKET_LENGTH = {"day": timedelta(days=1), "week": timedelta(weeks=1)}


def _in_range(report: Report, bucket: date) -> tuple[datetime, timedelta]:
    """Where a bucket's bar starts and how wide it is, cut to the report's range: a week is dated by its Monday
    (UTC), which lies before ``--from`` when the range starts mid-week, and such a bar fell off the chart."""
    start, length = datetime.combine(bucket, time(), timezone.utc), BUCKET_LENGTH[report.unit]
    f = report.filters
    if f.since is not None and start < f.since:
        length, start = length - (f.since - start), f.since
    if f.until is not None:  # a difference, not start + length: the last week of year 9999 ends past the calendar
        length = min(length, f.until - start)
    return start, length * BAR_SHARE


def _over_time(ax: "Axes", report: Report) -> None:
    """The time axis spans the report's range, however few days have data."""
    f = report.filters
    if f.since is not None and f.until is not None:
        ax.set_xlim(f.since, f.until)
    ax.tick_params(labelsize=8)
    for label in ax.get_xticklabels():
        label.set_rotation(30)
        label.set_horizontalalignment("right")


def _table(ax: "Axes", title: str, header: list[str], rows: list[list[str]]) -> None:
    ax.axis("off")
    ax.set_title(title, loc="left", fontsize=10)
    if rows:
        table = ax.table(cellText=[[_label(cell) for cell in row] for row in rows], colLabels=header, loc="upper left",
                         cellLoc="left")
        table.auto_set_font_size(False)
        table.set_fontsize(8)
        table.auto_set_column_width(list(range(len(header))))


def render(report: Report, title: str) -> "Figure":
    """One A4-wide page with every figure of the report."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8.27, 16.5), layout="constrained")
    grid = fig.add_gridspec(6, 2)
    fig.suptitle(title, fontsize=13)
    r = report.responses
    # Volume by platform (stacked), and the sentiment trend with spike alerts as dashed lines.
    ax = fig.add_subplot(grid[0, :])
    platforms = sorted({v.platform for v in report.volume})
    buckets = sorted({v.bucket for v in report.volume})
    starts, widths = zip(*[_in_range(report, b) for b in buckets]) if buckets else ((), ())
    counts = {(v.bucket, v.platform): v.count for v in report.volume}
    bottom = [0] * len(buckets)
    bars = []
    for platform in platforms:
        heights = [counts.get((b, platform), 0) for b in buckets]
        bars.append(ax.bar(starts, heights, bottom=bottom, width=widths, align="edge"))
        bottom = [b + h for b, h in zip(bottom, heights)]
    ax.set_title(f"Mentions per {report.unit}, by platform", loc="left", fontsize=10)
    if platforms:
        # Labels given with their bars: from the bars' own labels matplotlib leaves out one starting with "_".
        ax.legend(bars, [_label(p, MAX_LABEL) for p in platforms], fontsize=8)
        _over_time(ax, report)
    else:
        _empty(ax)
    ax = fig.add_subplot(grid[1, :])
    at = [_in_range(report, p.bucket)[0] for p in report.sentiment]
    ax.plot(at, [p.negative_share for p in report.sentiment], "o-", color="#d62728", label="negative")
    ax.plot(at, [p.positive_share for p in report.sentiment], "o-", color="#2ca02c", label="positive")
    for spike in report.spikes:
        ax.axvline(spike.at, color="#ff7f0e", linestyle="--", linewidth=1)
    ax.set_title(f"Sentiment share ({len(report.spikes)} spike alert(s), dashed)", loc="left", fontsize=10)
    ax.yaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
    if report.sentiment:
        ax.legend(fontsize=8)
        _over_time(ax, report)
    else:
        _empty(ax)
    _barh(fig.add_subplot(grid[2, 0]), "Intent mix", [c.key for c in report.intents], [c.count for c in report.intents])
    _barh(fig.add_subplot(grid[2, 1]), "Language mix", [c.key for c in report.languages][:10],
          [c.count for c in report.languages][:10])
    _barh(fig.add_subplot(grid[3, 0]), "Top terms in complaints", [c.key for c in report.top_terms][:12],
          [c.count for c in report.top_terms][:12], "#d62728")
    _barh(fig.add_subplot(grid[3, 1]), "Share of voice", [s.name for s in report.share_of_voice],
          [s.share for s in report.share_of_voice], "#9467bd")
    _barh(fig.add_subplot(grid[4, 0]), r.time_label.capitalize(), [c.key for c in r.distribution],
          [c.count for c in r.distribution])
    _barh(fig.add_subplot(grid[4, 1]), "Unanswered backlog by age", [c.key for c in report.backlog],
          [c.count for c in report.backlog], "#8c564b")
    _table(fig.add_subplot(grid[5, 0]), f"SLA attainment {_percent(r.attainment.rate)}",
           ["group", "met", "missed", "overdue", "rate"],
           [[a.key[:24], str(a.met), str(a.missed), str(a.overdue), _percent(a.rate)]
            for a in [*r.by_priority, *r.by_agent[:5], *r.by_platform]])
    _table(fig.add_subplot(grid[5, 1]), "Week over week", ["metric", "last 7 days", "7 days before"],
           [[w.metric, w.shown(w.this_week), w.shown(w.last_week)] for w in report.week_over_week])
    return fig


def _format(out: Path) -> str:
    fmt = FORMATS.get(out.suffix.lower())
    if fmt is None:
        raise click.BadParameter("the file name must end in .pdf or .png", param_hint="--out")
    return fmt


def write(report: Report, title: str, out: Path) -> None:
    """Save the report as ``out``, which is replaced only once it is complete (a full disk left a cut-off file)."""
    from monitor.transfer import write_file_atomically

    figure, fmt = render(report, title), _format(out)
    write_file_atomically(out, lambda file: figure.savefig(file, format=fmt, dpi=150), binary=True)


@click.command("report")
@click.option("--from", "start", type=click.DateTime(["%Y-%m-%d"]), required=True, help="First day (UTC).")
@click.option("--to", "end", type=click.DateTime(["%Y-%m-%d"]), required=True, help="Last day (UTC), included.")
@click.option("--brand", help="Only this brand (its key); default: every brand but competitors.")
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), required=True, callback=refuse_own_files,
              help="report.pdf or report.png")
@click.pass_obj
def report_command(app: "App", start: datetime, end: datetime, brand: str | None, out: Path) -> None:
    """Write the analytics report for a date range as a PDF or PNG."""
    _format(out)  # a wrong name is refused before the work of building the report, not after
    if end < start:
        raise click.BadParameter("--to is before --from", param_hint="--to")
    if end.date() > LAST_TO_DAY:
        raise click.BadParameter(f"the last day a report can cover is {LAST_TO_DAY:%Y-%m-%d}", param_hint="--to")
    since = datetime.combine(start.date(), time(0), timezone.utc)
    until = datetime.combine(end.date() + timedelta(days=1), time(0), timezone.utc)
    db = app.database()
    try:
        with db.read() as session:
            brands = dict(session.execute(select(Brand.key, Brand.id)).all())
            if brand is not None and brand not in brands:
                raise ConfigError(f"--brand: no brand {brand!r} (known: {', '.join(sorted(brands)) or 'none'})")
            # The stored flags, as the pages read them, not the config's: a brand it no longer names (renamed,
            # imported) counts as on the pages.
            competitors = set(queue.competitor_brand_ids(session))
            looked_at = [brands[brand]] if brand else [i for i in brands.values() if i not in competitors]
            # Without --brand, every mention but the competitors': one stored with no brand is ours, as in the queue.
            filters = analytics.scope(since, until, looked_at if brand else (), competitor_brand_ids=competitors)
            report = analytics.build_report(session, app.config.dashboard.sla, filters, utcnow(),
                                            voice_brand_ids=analytics.voices(looked_at, competitors),
                                            competitor_ids=competitors)
        # date's own format: strftime's %Y writes year 1 as "1"
        title = f"mentiondesk report {start.date()} – {end.date()}" + (f" · {brand}" if brand else "")
        write(report, title, out)
    finally:
        db.dispose()
    click.echo(f"wrote {out}", err=True)


__all__ = ["render", "report_command", "write"]
