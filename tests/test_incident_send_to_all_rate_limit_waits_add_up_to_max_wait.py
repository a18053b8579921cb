"""*Send to all* waits out rate limits for at most ``max_wait_seconds`` in all, then stops and says when to run
it again (until 2026-12-07 ``max_wait_seconds`` bounded each wait only, so a platform that kept answering 429
with a short reset kept the run retrying one mention forever)."""

from __future__ import annotations

from collections.abc import Callable

from connectors.base import PostedReply, RateLimited, ReplyTarget
from monitor.incidents import bulk_reply
from monitor.models import Incident, IncidentMention, Mention, utcnow
from monitor.storage import Database
from monitor.templates import ReplyTemplate
from tests.connector_doubles import RecordingReplyConnector
from tests.principals import ANA

TEMPLATE = ReplyTemplate("Fix", "Hi {author}, it is fixed now.")


class RateLimitedEachTime(RecordingReplyConnector):
    """Answers ``limits_per_post`` 429s with a ``retry_after`` reset before each post goes through."""

    retry_after = 60.0
    limits_per_post: int | None = None  # None: never lets a post through
    limited = 0

    def reply(self, target: ReplyTarget, text: str, idempotency_key: str) -> PostedReply:
        if self.limits_per_post is None or self.limited < self.limits_per_post:
            self.limited += 1
            raise RateLimited("429 Too Many Requests", self.retry_after)
        self.limited = 0
        return super().reply(target, text, idempotency_key)


class WaitedTooLong(Exception):
    """Raised by the test's sleep once a run has waited far past its max_wait_seconds (it would never end)."""


def _recording(waits: list[float], give_up_after: float = 3600) -> Callable[[float], None]:
    def sleep(seconds: float) -> None:
        waits.append(seconds)
        if sum(waits) > give_up_after:
            raise WaitedTooLong(f"{len(waits)} waits, {sum(waits):g} s in all")
    return sleep


def _incident(db: Database, mentions: int) -> tuple[int, list[int]]:
    with db.write() as session:
        rows = [Mention(platform="scripted", external_id=f"m{n}", text=f"the app logs me out ({n})",
                        created_at=utcnow(), replyable=True, raw={}, status="new", author_handle=f"user{n}")
                for n in range(mentions)]
        session.add_all(rows)
        session.flush()
        incident = Incident(first_seen_at=utcnow(), last_seen_at=utcnow())
        session.add(incident)
        session.flush()
        session.add_all(IncidentMention(mention_id=m.id, incident_id=incident.id, similarity=0.9) for m in rows)
        return incident.id, [m.id for m in rows]


def test_a_platform_that_keeps_asking_for_short_waits_stops_the_run(
        sqlite_db: Database, connector: RecordingReplyConnector) -> None:
    incident_id, (first, *_) = _incident(sqlite_db, 3)
    limited = RateLimitedEachTime(connector.settings)
    waits: list[float] = []
    before = utcnow()
    report = bulk_reply(sqlite_db, incident_id, "Fix", [TEMPLATE], {"scripted": limited}, ANA, "Acme",
                        max_wait_seconds=120, sleep=_recording(waits))
    assert waits == [60, 60]  # a third wait would pass the 120 s in all
    assert list(report.failed) == [first] and not report.sent and not report.complete
    assert report.waiting_until is not None and report.waiting_until >= before
    assert limited.limited == 3 and not connector.calls


def test_waits_for_different_mentions_add_up(sqlite_db: Database, connector: RecordingReplyConnector) -> None:
    incident_id, (first, second, third) = _incident(sqlite_db, 3)
    limited = RateLimitedEachTime(connector.settings)
    limited.retry_after, limited.limits_per_post = 50.0, 1
    waits: list[float] = []
    report = bulk_reply(sqlite_db, incident_id, "Fix", [TEMPLATE], {"scripted": limited}, ANA, "Acme",
                        max_wait_seconds=120, sleep=_recording(waits))
    assert waits == [50, 50]
    assert report.sent == [first, second] and list(report.failed) == [third] and report.waiting_until is not None
    assert [external_id for external_id, _ in connector.calls] == ["m0", "m1"]
