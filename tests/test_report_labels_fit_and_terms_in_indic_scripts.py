"""Complaint terms and report charts for what customers actually write: a Hindi or Tamil word is one term (a vowel
sign or virama split it, and the pieces were dropped: the page said "No complaints in this range"), phone
keyboards' "don’t" is a stopword like "don't", a stranger's 95-character hashtag no longer squeezes every chart
of the report page, and a platform named "_forum" is in the legend (all until 2026-12-07)."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

pytest.importorskip("matplotlib")

from monitor import analytics, report  # noqa: E402
from monitor.analytics import terms  # noqa: E402
from monitor.sla import SlaPolicy  # noqa: E402
from monitor.storage import Database  # noqa: E402
from tests.test_dashboard_fixtures import add_brand, add_mention  # noqa: E402

SINCE, UNTIL = datetime(2026, 11, 1, tzinfo=timezone.utc), datetime(2026, 12, 1, tzinfo=timezone.utc)
LONG = "#neverorderfromacmetheykeepyourmoney"


def test_words_in_indic_scripts_are_whole_terms() -> None:
    assert terms("मेरा ऑर्डर नहीं आया, पैसे वापस करो") == ["मेरा", "ऑर्डर", "नहीं", "आया", "पैसे", "वापस", "करो"]
    assert terms("என் பணம் வரவில்லை") == ["என்", "பணம்", "வரவில்லை"]


def test_a_typographic_apostrophe_is_an_apostrophe() -> None:
    assert terms("I don’t know, it’s late and I’m done") == terms("I don't know, it's late and I'm done") == [
        "know", "late", "done"]


def test_long_names_are_cut_on_the_chart_and_every_platform_is_in_the_legend(tmp_path: Path) -> None:
    db = Database.open(f"sqlite:///{tmp_path / 'r.db'}")
    db.upgrade()
    acme = add_brand(db, "Acme")
    for day in range(1, 5):
        for platform, tag in (("sample", LONG), ("_forum", LONG + "andignoreyou")):
            add_mention(db, brand_id=acme, platform=platform, intent="complaint",
                        created_at=datetime(2026, 11, day, tzinfo=timezone.utc), text=f"refund late {tag}")
    with db.read() as session:
        built = analytics.build_report(session, SlaPolicy(), analytics.scope(SINCE, UNTIL), UNTIL)
    figure = report.render(built, "Acme")
    [volume] = [ax for ax in figure.axes if ax.get_title(loc="left").startswith("Mentions per")]
    assert [t.get_text() for t in volume.get_legend().get_texts()] == ["_forum", "sample"]
    [top] = [ax for ax in figure.axes if ax.get_title(loc="left") == "Top terms in complaints"]
    labels = [t.get_text() for t in top.get_yticklabels()]
    assert max(map(len, labels)) == report.MAX_LABEL and labels.count(LONG[:report.MAX_LABEL - 1] + "…") == 2
    assert len(top.patches) == 4, "the two hashtags cut to one label are still two bars"
    db.dispose()
