"""`incidents list`/`show` and the Incidents page name an incident's languages and platforms most common first
(ties by name) on every database (until 2026-12-07 PostgreSQL gave them back in JSONB's key order, so the main
language of an incident was not first)."""

from __future__ import annotations

from monitor.alerts.format import WRITERS, Style, render
from monitor.incidents import get_incident, list_incidents, refresh_summary
from monitor.incidents_cli import _line
from monitor.models import Incident, IncidentMention, Mention, utcnow
from monitor.storage import Database


def test_languages_and_platforms_most_common_first(db: Database) -> None:
    langs = ["ta"] * 9 + ["es"] * 4 + ["en", "de"]
    platforms = ["x"] * 2 + ["bluesky"] * 3 + ["mastodon"] * 10
    with db.write() as session:
        mentions = [Mention(platform=platform, external_id=f"p{n}", text=f"the app logs me out {n}", lang=lang,
                            created_at=utcnow(), replyable=True, raw={}, author_handle=f"a{n}")
                    for n, (lang, platform) in enumerate(zip(langs, platforms, strict=True))]
        session.add_all(mentions)
        session.flush()
        incident = Incident(first_seen_at=utcnow(), last_seen_at=utcnow())
        session.add(incident)
        session.flush()
        session.add_all(IncidentMention(mention_id=m.id, incident_id=incident.id, similarity=0.5) for m in mentions)
        session.flush()
        refresh_summary(session, incident.id)
        incident_id = incident.id
    for view in (get_incident(db, incident_id), *list_incidents(db)):
        assert list(view.languages.items()) == [("ta", 9), ("es", 4), ("de", 1), ("en", 1)]
        assert list(view.platforms.items()) == [("mastodon", 10), ("bluesky", 3), ("x", 2)]
        assert "; ta 9, es 4, de 1, en 1; " in _line(view)


def test_an_incident_alert_names_its_languages_most_common_first() -> None:
    # Its details are JSONB on PostgreSQL too, read back in JSONB's key order.
    details = {"count": 15, "reach": 1200, "first_seen": "2026-12-07 09:00 UTC", "terms": ["logout"],
               "languages": {"de": 1, "en": 1, "es": 4, "ta": 9}}
    message = render("incident", "Acme", [], details, Style(WRITERS["text"], 280, 10, None))
    assert "Languages: ta 9, es 4, de 1, en 1." in message.body
