"""*Send to all* asks the platform's connector whether a member stored not replyable can be answered (as Mastodon
answers an imported status whose author was kept, and refuses one stored without its author): the one it
refuses is listed as skipped with its reason, the rest are answered. Until 2026-12-07 such a member stopped
the whole run with an AttributeError (the connector, wrapped to record rate limits, lacked the question)."""
from __future__ import annotations

from datetime import timedelta

import numpy as np
from sqlalchemy import update

from connectors.base import Capabilities, ConnectorSettings, ReplyTarget
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
NO_AUTHOR = "stored without its author, so a reply would reach no one"


class AnswersPostsWithTheirAuthor(RecordingReplyConnector):
    """A platform that answers any post whose author was stored (no direct mention needed)."""

    capabilities = Capabilities(can_reply=True, max_reply_chars=500)

    def why_not_replyable(self, target: ReplyTarget) -> str | None:
        return None if (target.raw or {}).get("acct") else NO_AUTHOR


def test_a_member_stored_not_replyable_is_skipped_where_its_platform_says_so_and_answered_where_not(
        db: Database) -> None:
    rng = np.random.default_rng(1)
    times = [NOW - timedelta(minutes=60 - 5 * i) for i in range(8)]
    ids = _synthetic(db, _brand(db), _around(rng, rng.normal(size=384), 8), times, ["en", "es", "fr", "de"] * 2)
    no_author, imported = ids[:2]
    with db.write() as session:
        session.execute(update(Mention).where(Mention.id.in_(ids)).values(platform="scripted"))
        session.execute(update(Mention).where(Mention.id.in_([no_author, imported])).values(replyable=False))
        session.execute(update(Mention).where(Mention.id == imported).values(raw={"acct": "ana"}))
    [incident_id] = IncidentDetector(db, IncidentSettings()).run(NOW).opened
    RecordingReplyConnector.calls = []
    report = bulk_reply(db, incident_id, "Login fix", APOLOGY,
                        {"scripted": AnswersPostsWithTheirAuthor(ConnectorSettings())}, AGENT, "Orbisto")
    assert sorted(report.sent) == sorted(ids[1:])
    assert report.skipped == {no_author: NO_AUTHOR}
    assert len(RecordingReplyConnector.calls) == 7
