"""Two agents press *Send to all* on one incident at the same moment: both read "no reply yet" for a mention
and draft it under the same idempotency key. The run whose draft comes second carries on with the other run's
reply and never posts it twice (until 2026-12-07 it crashed on the duplicate key)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

import monitor.templates
from monitor import presence, replies
from monitor.incidents import bulk_reply, bulk_reply_key
from monitor.models import Incident, IncidentMention, Mention, Reply, ReplyState, utcnow
from monitor.storage import Database
from monitor.templates import ReplyTemplate
from tests.connector_doubles import RecordingReplyConnector
from tests.principals import ANA, BEN

TEMPLATE = ReplyTemplate("Fix", "Hi {author}, it is fixed now.")


def _incident(db: Database) -> tuple[int, list[int]]:
    with db.write() as session:
        rows = [Mention(platform="scripted", external_id=f"m{n}", text=f"the app logs me out ({n})",
                        created_at=utcnow(), replyable=True, raw={}, status="new", author_handle=f"user{n}")
                for n in range(2)]
        session.add_all(rows)
        session.flush()
        incident = Incident(first_seen_at=utcnow(), last_seen_at=utcnow())
        session.add(incident)
        session.flush()
        session.add_all(IncidentMention(mention_id=m.id, incident_id=incident.id, similarity=0.9) for m in rows)
        return incident.id, [m.id for m in rows]


@pytest.mark.parametrize("other_run_got_to", ["drafted", "sent"])
def test_the_second_draft_carries_on_with_the_other_runs_reply(db: Database, connector: RecordingReplyConnector,
                                                               monkeypatch: pytest.MonkeyPatch,
                                                               other_run_got_to: str) -> None:
    incident_id, (first, second) = _incident(db)
    render, rendered_before = monitor.templates.render, []

    def other_run_drafts_first(*args: Any, **kwargs: Any) -> Any:
        """Ana's run has just read "no reply yet" for a mention; for the first, Ben's run drafts it now."""
        rendered = render(*args, **kwargs)
        if not rendered_before:
            key = bulk_reply_key(incident_id, first)
            theirs = replies.draft_reply(db, first, rendered.text, BEN, idempotency_key=key)
            if other_run_got_to == "sent":
                presence.send_reply_once(db, theirs.id, connector, BEN)
        rendered_before.append(rendered)
        return rendered

    monkeypatch.setattr(monitor.templates, "render", other_run_drafts_first)
    report = bulk_reply(db, incident_id, "Fix", [TEMPLATE], {"scripted": connector}, ANA, "Acme")
    if other_run_got_to == "sent":
        assert report.already_sent == [first] and report.sent == [second]
    else:
        assert report.sent == [first, second]
    assert report.complete and not report.skipped
    assert [external_id for external_id, _ in connector.calls] == ["m0", "m1"]  # each posted once
    with db.read() as session:
        rows = session.execute(select(Reply.mention_id, Reply.author, Reply.state).order_by(Reply.mention_id)).all()
    assert [tuple(r) for r in rows] == [(first, "ben", ReplyState.SENT.value), (second, "ana", ReplyState.SENT.value)]
