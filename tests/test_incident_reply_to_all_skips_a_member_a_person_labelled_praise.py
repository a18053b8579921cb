"""*Send to all* leaves out an incident's member that a person relabelled positive or praise after it joined, and
lists it as skipped: detection would have left it out had the relabel come first. Until 2026-12-07 a customer the
team had marked as praising got the brand's public apology for the outage."""
from __future__ import annotations

from datetime import timedelta

import numpy as np
from sqlalchemy import update

from connectors.base import ConnectorSettings
from monitor import triage
from monitor.access import Principal, Role
from monitor.config import IncidentSettings
from monitor.incidents import IncidentDetector, bulk_reply
from monitor.models import Mention
from monitor.storage import Database
from monitor.templates import ReplyTemplate
from tests.connector_doubles import RecordingReplyConnector
from tests.test_incidents import NOW, _around, _brand, _synthetic

AGENT = Principal("ana", Role.AGENT)
APOLOGY = [ReplyTemplate("Login fix", "Hi {author}, sorry! Version 4.2.1 fixes the log-outs. {brand}")]


def test_the_relabelled_member_gets_no_apology_and_the_rest_do(db: Database) -> None:
    rng = np.random.default_rng(1)
    times = [NOW - timedelta(minutes=60 - 5 * i) for i in range(8)]
    ids = _synthetic(db, _brand(db), _around(rng, rng.normal(size=384), 8), times, ["en", "es", "fr", "de"] * 2)
    with db.write() as session:
        session.execute(update(Mention).where(Mention.id.in_(ids)).values(platform="scripted"))
    [incident_id] = IncidentDetector(db, IncidentSettings()).run(NOW).opened
    praised, pleased = ids[0], ids[1]
    triage.relabel(db, [praised], AGENT, intent="praise")
    triage.relabel(db, [pleased], AGENT, sentiment="positive")
    RecordingReplyConnector.calls = []
    report = bulk_reply(db, incident_id, "Login fix", APOLOGY,
                        {"scripted": RecordingReplyConnector(ConnectorSettings())}, AGENT, "Orbisto")
    assert sorted(report.sent) == sorted(ids[2:])
    assert report.skipped == {praised: "labelled praise by a person", pleased: "labelled praise by a person"}
