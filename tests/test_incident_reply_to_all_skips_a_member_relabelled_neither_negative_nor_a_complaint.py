"""*Send to all* answers an incident's members by the rule detection groups them by: a mention is part of the
problem while it reads negative or as a complaint, a person's labels winning over the model's. A member a person
relabelled since it joined so that it is neither (neutral and a question, positive and praise) gets no apology
and is listed as skipped; one still a complaint, or still negative, is answered. Until 2026-12-07 any member
relabelled positive or praise was skipped (a complaint said cheerfully got no answer), and one relabelled
neutral and "other" still got the brand's public apology for the outage."""
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
from sentiment.triage import DEFAULT_RULES
from tests.connector_doubles import RecordingReplyConnector
from tests.test_incidents import NOW, _around, _brand, _synthetic

AGENT = Principal("ana", Role.AGENT)
APOLOGY = [ReplyTemplate("Login fix", "Hi {author}, sorry! Version 4.2.1 fixes the log-outs. {brand}")]
NOT_PART = ("relabelled by a person since it joined: no longer read as negative or a complaint, "
            "so not part of the problem")


def test_members_relabelled_out_of_the_problem_get_no_apology_and_the_rest_do(db: Database) -> None:
    rng = np.random.default_rng(1)
    times = [NOW - timedelta(minutes=60 - 5 * i) for i in range(8)]
    ids = _synthetic(db, _brand(db), _around(rng, rng.normal(size=384), 8), times, ["en", "es", "fr", "de"] * 2)
    with db.write() as session:
        session.execute(update(Mention).where(Mention.id.in_(ids)).values(platform="scripted"))
    [incident_id] = IncidentDetector(db, IncidentSettings()).run(NOW).opened
    cheerful_complaint, negative_praise, praise, question = ids[:4]
    triage.relabel(db, [cheerful_complaint], AGENT, sentiment="positive", rules=DEFAULT_RULES)
    triage.relabel(db, [negative_praise], AGENT, intent="praise", rules=DEFAULT_RULES)
    triage.relabel(db, [praise], AGENT, sentiment="positive", intent="praise", rules=DEFAULT_RULES)
    triage.relabel(db, [question], AGENT, sentiment="neutral", intent="question", rules=DEFAULT_RULES)
    RecordingReplyConnector.calls = []
    report = bulk_reply(db, incident_id, "Login fix", APOLOGY,
                        {"scripted": RecordingReplyConnector(ConnectorSettings())}, AGENT, "Orbisto")
    assert sorted(report.sent) == sorted([cheerful_complaint, negative_praise, *ids[4:]])
    assert report.skipped == {praise: NOT_PART, question: NOT_PART}
    assert len(RecordingReplyConnector.calls) == 6
