"""An incident's *Send to all* does not answer, from the brand account, a member a person marked spam or ignored."""

from __future__ import annotations

from monitor import triage
from monitor.incidents import bulk_reply
from monitor.models import Incident, IncidentMention, Mention, MentionStatus, utcnow
from monitor.storage import Database
from monitor.templates import ReplyTemplate
from tests.connector_doubles import RecordingReplyConnector
from tests.principals import ANA, BEN


def test_send_to_all_skips_members_marked_spam_or_ignored(db: Database, connector: RecordingReplyConnector) -> None:
    with db.write() as session:
        mentions = [Mention(platform="scripted", external_id=f"m{n}", text=f"the app logs me out ({n})",
                            created_at=utcnow(), replyable=True, raw={}, status="new", author_handle=f"user{n}")
                    for n in range(4)]
        session.add_all(mentions)
        session.flush()
        incident = Incident(first_seen_at=utcnow(), last_seen_at=utcnow())
        session.add(incident)
        session.flush()
        session.add_all(IncidentMention(mention_id=m.id, incident_id=incident.id, similarity=0.9) for m in mentions)
        incident_id, (kept, spam, ignored, resolved) = incident.id, [m.id for m in mentions]
    triage.set_status(db, [spam], MentionStatus.SPAM.value, BEN)
    triage.set_status(db, [ignored], MentionStatus.IGNORED.value, BEN)
    triage.set_status(db, [resolved], MentionStatus.RESOLVED.value, BEN)  # handled, and still told of the fix
    report = bulk_reply(db, incident_id, "Fix", [ReplyTemplate("Fix", "Hi {author}, it is fixed now.")],
                        {"scripted": connector}, ANA, "Acme")
    assert report.sent == [kept, resolved]
    assert report.skipped == {spam: "marked spam", ignored: "marked ignored"}
    assert [external_id for external_id, _ in connector.calls] == ["m0", "m3"]
