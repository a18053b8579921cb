"""A mention the model fails on every time stays pending, and the worker retries it on each wake; the
minute tick still runs: a follow-up that came due reopens its mention. Until 2026-12-07 the tick ran
after the classification in one try, so one such mention stopped follow-ups, check-ins and SLA alerts."""

from __future__ import annotations

import time
from datetime import timedelta

from monitor import followups
from monitor.access import Principal, Role
from monitor.classify import MentionClassifier
from monitor.models import FollowUp, Mention, MentionStatus, utcnow
from monitor.pipeline import Pipeline, PipelineWorker
from monitor.storage import Database
from sentiment.triage import TriageRules
from tests.fault_tools import add_unclassified, wait_until


class FailingModel:
    """Raises on every read, as a model does on an input it chokes on (or out of memory)."""

    def classify(self, *args: object, **kwargs: object) -> list[object]:
        raise RuntimeError("model failed")


def test_a_due_follow_up_reopens_while_classification_keeps_failing(db: Database) -> None:
    now = utcnow()
    with db.write() as session:
        waiting = Mention(platform="x", external_id="waiting", text="where is my order?", lang="en", created_at=now,
                          replyable=True, raw={}, status=MentionStatus.OPEN.value, priority=50, classified_at=now)
        session.add(waiting)
        session.flush()
        waiting_id = waiting.id
    add_unclassified(db, 1)  # the mention the model fails on
    followups.set_follow_up(db, waiting_id, now + timedelta(seconds=0.5), Principal("ana", Role.AGENT))
    time.sleep(0.6)  # the follow-up is due

    worker = PipelineWorker(Pipeline(db, MentionClassifier(FailingModel(), TriageRules())))
    worker.start()
    try:
        worker.wake(tick=True)  # the scheduler's minute tick

        def reopened() -> bool:
            with db.read() as session:
                follow_up = session.get(FollowUp, waiting_id)
                return follow_up is not None and follow_up.done_at is not None
        wait_until(reopened, 10, "the due follow-up to be run")
    finally:
        worker.stop()
        worker.join(10)
    with db.read() as session:
        mention = session.get(Mention, waiting_id)
        assert mention is not None and mention.status == MentionStatus.OPEN.value
    assert worker.pending_count() == 1, "the failing mention stays pending for the next try"
