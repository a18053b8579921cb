""""Merge into it" merges into the incident the agent picked on the page, or refuses: never into another
incident that the click's run offers first because the pick was resolved or changed meanwhile."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("streamlit", reason="the dashboard needs streamlit: pip install 'mentiondesk[dashboard]'")

from dashboard.safe import md_escape  # noqa: E402
from monitor import incidents  # noqa: E402
from monitor.models import Incident, IncidentMention, utcnow  # noqa: E402
from monitor.storage import Database  # noqa: E402
from tests.principals import BEN  # noqa: E402
from tests.test_dashboard_fixtures import add_brand, add_mention, dashboard_db, signed_in_app  # noqa: E402


def _incident(db: Database, brand: int, n: int) -> int:
    """An open incident of two complaints about one outage."""
    ids = [add_mention(db, brand_id=brand, text=f"outage app down {n} {k}") for k in range(2)]
    with db.write() as session:
        now = utcnow()
        incident = Incident(brand_id=brand, first_seen_at=now, last_seen_at=now)
        session.add(incident)
        session.flush()
        session.add_all(IncidentMention(mention_id=m, incident_id=incident.id, similarity=0.9) for m in ids)
        session.flush()
        incidents.refresh_summary(session, incident.id)
        return incident.id


def _merged_into(db: Database, incident_id: int) -> int | None:
    with db.read() as session:
        return session.get_one(Incident, incident_id).merged_into_id


def test_a_picked_incident_resolved_meanwhile_is_refused_not_swapped_for_another(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = dashboard_db(tmp_path, monkeypatch)
    brand = add_brand(db, "Acme")
    first, offered_first, picked = (_incident(db, brand, n) for n in range(3))
    at = signed_in_app(db)
    at.switch_page("pages/incidents.py").run()
    at.selectbox(key=f"incident-merge-target-{first}").set_value(picked).run()
    incidents.resolve_incident(db, picked, BEN)  # a teammate, before the agent's click
    at.button(key=f"incident-merge-{first}").click().run()
    assert not at.exception, at.exception
    assert _merged_into(db, first) is None, "merged into an incident the agent did not pick"
    refused = md_escape(f"incident {picked} is resolved; only open incidents can be merged")
    assert [e.value for e in at.error] == [refused]
    assert not at.success
    db.dispose()


def test_a_picked_incident_that_grew_meanwhile_is_the_one_merged_into(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = dashboard_db(tmp_path, monkeypatch)
    brand = add_brand(db, "Acme")
    first, _, picked = (_incident(db, brand, n) for n in range(3))
    at = signed_in_app(db)
    at.switch_page("pages/incidents.py").run()
    at.selectbox(key=f"incident-merge-target-{first}").set_value(picked).run()
    joined = add_mention(db, brand_id=brand, text="outage app down again")  # its label's count changes
    with db.write() as session:
        session.add(IncidentMention(mention_id=joined, incident_id=picked, similarity=0.9))
        session.flush()
        incidents.refresh_summary(session, picked)
    at.button(key=f"incident-merge-{first}").click().run()
    assert not at.exception, at.exception
    assert _merged_into(db, first) == picked
    assert [s.value for s in at.success] == [f"Merged incident #{first}: 2 mention(s) moved to incident #{picked}."]
    db.dispose()
