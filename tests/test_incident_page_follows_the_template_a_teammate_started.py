"""Once a teammate starts an incident's "Send to all", an Incidents page opened before shows the template the
reply started with and carries on with it. The template picker used to keep this session's own pick (greyed
out), and "Send to all" failed with "incident 1 is being answered with 'Thanks'"."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

pytest.importorskip("streamlit", reason="the dashboard needs streamlit: pip install 'mentiondesk[dashboard]'")

from monitor.access import Role  # noqa: E402
from monitor.models import Incident, IncidentMention, Reply, utcnow  # noqa: E402
from monitor.storage import Database  # noqa: E402
from tests.test_dashboard_fixtures import add_brand, add_mention, dashboard_db, signed_in_app  # noqa: E402

TEMPLATES = ('[[reply_templates]]\nname = "Login fix"\nbody = "Hi {author}, version 4.2.1 fixes it."\n'
             '[[reply_templates]]\nname = "Sorry"\nbody = "Sorry {author}, we are on it."\n'
             '[[reply_templates]]\nname = "Thanks"\nbody = "Thanks {author}, it is fixed now."\n')


def _incident(db: Database) -> tuple[int, list[int]]:
    brand = add_brand(db, "Acme")
    ids = [add_mention(db, brand_id=brand, replyable=True, text=f"app down {i}", intent="complaint",
                       sentiment_label="negative") for i in range(3)]
    now = utcnow()
    with db.write() as session:
        incident = Incident(brand_id=brand, status="open", opened_at=now, first_seen_at=now, last_seen_at=now,
                            mention_count=3, reach=300, summary={"terms": ["down"], "languages": {"en": 3},
                                                                 "platforms": {"sample": 3}, "examples": ids})
        session.add(incident)
        session.flush()
        session.add_all(IncidentMention(mention_id=i, incident_id=incident.id, similarity=0.9) for i in ids)
        return incident.id, ids


def test_an_open_page_shows_and_sends_the_template_a_teammate_started_with(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = dashboard_db(tmp_path, monkeypatch, TEMPLATES)
    incident_id, ids = _incident(db)
    ana = signed_in_app(db, "ana", Role.AGENT)
    ana.switch_page("pages/incidents.py").run()
    ana.selectbox(key=f"incident-template-{incident_id}").select("Sorry").run()

    ben = signed_in_app(db, "ben", Role.AGENT)
    ben.switch_page("pages/incidents.py").run()
    ben.selectbox(key=f"incident-template-{incident_id}").select("Thanks").run()
    ben.button(key=f"incident-send-{incident_id}").click().run()
    assert [s.value for s in ben.success] == ["Sent 3 (already sent before: 0)."]

    ana.run()
    picker = ana.selectbox(key=f"incident-template-{incident_id}")
    assert (picker.value, picker.disabled) == ("Thanks", True)
    ana.button(key=f"incident-send-{incident_id}").click().run()
    assert not ana.exception, ana.exception
    assert not ana.error and not ana.warning, [e.value for e in [*ana.error, *ana.warning]]
    assert [s.value for s in ana.success] == ["Sent 0 (already sent before: 3)."]
    ana.switch_page("pages/queue.py").run()
    ana.switch_page("pages/incidents.py").run()
    assert ana.selectbox(key=f"incident-template-{incident_id}").value == "Thanks"
    with db.read() as session:
        bodies = {r.mention_id: r.body for r in session.scalars(select(Reply))}
    assert sorted(bodies) == sorted(ids) and all(b.startswith("Thanks") for b in bodies.values())
    db.dispose()
