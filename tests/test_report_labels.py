"""`mentiondesk report` draws names from the data as typed: a "$" is never the start of a matplotlib formula."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest

pytest.importorskip("matplotlib")

from matplotlib.cbook import is_math_text  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.table import Table  # noqa: E402
from matplotlib.text import Text  # noqa: E402

from monitor import analytics, report  # noqa: E402
from monitor.models import utcnow  # noqa: E402
from monitor.sla import SlaPolicy  # noqa: E402
from monitor.storage import Database  # noqa: E402
from tests.test_dashboard_fixtures import add_brand, add_mention  # noqa: E402

# Each failed the whole report (mathtext ParseException) or would draw as a formula.
NAMES = ["$$ Bank", "A$_$B", "Dollar$ General$", r"back\$slash"]


def _texts(figure: Figure) -> list[str]:
    """Every text drawn: titles, tick labels, legends, and the tables' cells (not children of the figure)."""
    cells = [cell.get_text() for table in figure.findobj(Table) for cell in table.get_celld().values()]
    return [t.get_text() for t in [*figure.findobj(Text), *cells] if t.get_text()]


@pytest.mark.parametrize("name", NAMES)
def test_brand_platform_and_agent_names_with_dollars_draw_as_typed(sqlite_db: Database, name: str) -> None:
    db = sqlite_db
    now = utcnow()
    brand = add_brand(db, name)
    # Unanswered for two days: overdue, so it lands in the SLA table by agent and by platform too.
    add_mention(db, brand_id=brand, platform=name, assignee=name, status="open", priority=90.0,
                created_at=now - timedelta(days=2))
    with db.read() as session:
        built = analytics.build_report(session, SlaPolicy(), analytics.scope(now - timedelta(days=7), now), now,
                                       voice_brand_ids=[brand])
    figure = report.render(built, "report")
    figure.savefig(io.BytesIO(), format="png")
    texts = _texts(figure)
    assert not [t for t in texts if is_math_text(t)]
    # Drawn without math, matplotlib shows "\$" as "$": each name appears as typed.
    shown = [t.replace(r"\$", "$") for t in texts]
    assert shown.count(name) >= 4  # share of voice, the legend, SLA by agent and by platform
