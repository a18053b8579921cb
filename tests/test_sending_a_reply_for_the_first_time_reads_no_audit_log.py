"""A reply's first send reads nothing of the audit log, which grows with every action of every user: only a
re-send of a reply whose outcome is unknown (reopened by *Send to all*) has to look there for why its earlier
send may have posted it. Until 2026-12-07 every send searched the mention's audit entries first."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from monitor.models import ReplyState
from monitor.replies import draft_reply, send_reply
from monitor.storage import Database
from tests.connector_doubles import RecordingReplyConnector
from tests.principals import ANA
from tests.test_replies import add_mention


@contextmanager
def audit_log_reads(db: Database) -> Iterator[list[str]]:
    """The statements that read the audit log while the block runs."""
    reads: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "audit_log" in statement:
            reads.append(statement)

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        yield reads
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)


def test_a_drafts_send_posts_it_without_reading_the_audit_log(
        db: Database, connector: RecordingReplyConnector) -> None:
    reply = draft_reply(db, add_mention(db), "Sorry! DM us your order number.", author=ANA)
    with audit_log_reads(db) as reads:
        sent = send_reply(db, reply.id, connector, actor=ANA)
    assert sent.state == ReplyState.SENT.value
    assert reads == []
