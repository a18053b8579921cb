"""A report over more than three months counts by week, and each week is dated by its Monday (UTC). With ``--from``
on a weekend, that Monday lies before the chart's axis: the first week's bar and sentiment point were drawn off the
chart, so its mentions vanished from the PDF/PNG. Every week's bar must lie inside the axis, cut to the range."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

pytest.importorskip("matplotlib")

from matplotlib.dates import date2num, num2date  # noqa: E402

from monitor import analytics  # noqa: E402
from monitor.report import render  # noqa: E402
from monitor.sla import SlaPolicy  # noqa: E402
from monitor.storage import Database  # noqa: E402
from tests.test_dashboard_fixtures import add_brand, add_mention  # noqa: E402


def _chart(tmp_path: Path, since: datetime, until: datetime, mentions_at: list[datetime]):
    db = Database.open(f"sqlite:///{tmp_path / 'r.db'}")
    db.upgrade()
    acme = add_brand(db, "Acme")
    for at in mentions_at:
        add_mention(db, brand_id=acme, platform="x", created_at=at, sentiment_label="negative")
    with db.read() as session:
        report = analytics.build_report(session, SlaPolicy(), analytics.scope(since, until), until)
    db.dispose()
    assert report.unit == "week"
    return render(report, "t")


@pytest.mark.parametrize("since, until, mentions_at", [
    # --from 2026-11-01 (a Sunday) --to 2027-03-31 (a Wednesday): partial weeks at both ends.
    (datetime(2026, 11, 1, tzinfo=timezone.utc), datetime(2027, 4, 1, tzinfo=timezone.utc),
     [datetime(2026, 11, 1, 12, minute, tzinfo=timezone.utc) for minute in range(10)]
     + [datetime(2026, 12, 9, 12, tzinfo=timezone.utc), datetime(2027, 3, 31, 23, tzinfo=timezone.utc)]),
    # --to 9999-12-30: the last week's Monday is 9999-12-27, and that week ends past the calendar.
    (datetime(9999, 6, 5, tzinfo=timezone.utc), datetime(9999, 12, 31, tzinfo=timezone.utc),
     [datetime(9999, 6, 5, 1, tzinfo=timezone.utc), datetime(9999, 12, 30, 23, tzinfo=timezone.utc)]),
])
def test_every_week_is_drawn_inside_the_axis(tmp_path: Path, since: datetime, until: datetime,
                                             mentions_at: list[datetime]) -> None:
    volume, sentiment, *_ = _chart(tmp_path, since, until, mentions_at).axes
    low, high = volume.get_xlim()
    assert (num2date(low), num2date(high)) == (since, until)  # the axis is still the range asked for
    for bar in volume.patches:
        assert low <= bar.get_x() < bar.get_x() + bar.get_width() <= high, (num2date(bar.get_x()), bar.get_width())
    assert sum(bar.get_height() for bar in volume.patches) == len(mentions_at)
    low, high = sentiment.get_xlim()
    for line in sentiment.lines:  # one point a week with mentions, as one bar a week (one platform)
        points = [date2num(x) for x in line.get_xdata()]
        assert len(points) == len(volume.patches)
        assert all(low <= x <= high for x in points), [num2date(x) for x in points]


def test_a_whole_week_is_drawn_wider_than_a_day(tmp_path: Path) -> None:
    since = datetime(2026, 11, 2, tzinfo=timezone.utc)  # a Monday: no week is cut at the start
    volume, *_ = _chart(tmp_path, since, since + timedelta(days=120), [since + timedelta(hours=1)]).axes
    (bar,) = volume.patches
    assert num2date(bar.get_x()) == since
    assert 5 <= bar.get_width() < 7  # most of the week, with a gap before the next week's bar
