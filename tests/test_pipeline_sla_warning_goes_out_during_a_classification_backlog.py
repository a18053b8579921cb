"""The worker's minute tick (SLA warnings, spikes, the digest, follow-ups) runs while a classification backlog
lasts, between the model's reads. Until 2026-12-07 it waited for the backlog to empty, so with mentions arriving
faster than the model read them no SLA warning went out, and a mention past its deadline by then never got one."""

from __future__ import annotations

import threading
from datetime import timedelta

from monitor.alerts.engine import AlertEngine
from monitor.alerts.receiver import Receiver
from monitor.classify import MentionClassifier
from monitor.models import utcnow
from monitor.pipeline import Pipeline, PipelineWorker
from monitor.storage import Database
from sentiment.triage import TriageRules
from tests.classify_worker import SlowModel
from tests.fault_tools import add_unclassified, count_classified, wait_until
from tests.test_alerts import add_brand, add_mentions, settings, target

ONLY_SLA = {"digest": {"enabled": False}, "volume_spike": {"enabled": False}, "negative_spike": {"enabled": False}}
BACKLOG = 400  # 50 reads of 8 at 0.4 s each: 20 s of classifying


def test_sla_warning_goes_out_while_the_worker_is_still_classifying_a_backlog(sqlite_db: Database) -> None:
    brand = add_brand(sqlite_db)
    # Needs a response, posted 50 minutes ago: within 15 minutes of the 60-minute SLA, so a tick warns about it.
    add_mentions(sqlite_db, brand, needs_response=True, author_handle="waiting_customer",
                 created_at=utcnow() - timedelta(minutes=50))
    add_unclassified(sqlite_db, BACKLOG)
    stopping = threading.Event()
    classifier = MentionClassifier(SlowModel(seconds_per_batch=0.05), TriageRules(), stop_requested=stopping.is_set)
    with Receiver() as receiver:
        engine = AlertEngine(sqlite_db, settings(rules=ONLY_SLA), [target("care", receiver.json_url())])
        pipeline = Pipeline(sqlite_db, classifier, engine, batch_size=1).start()
        worker = PipelineWorker(pipeline)
        worker.start()
        try:
            worker.wake()  # a poll stored the backlog
            wait_until(lambda: count_classified(sqlite_db)[1] > 0, 10, "the worker to start on the backlog")
            worker.wake(tick=True)  # the scheduler's minute tick
            warnings = receiver.wait_for(1, timeout=5)
            assert [w.title for w in warnings] == ["Response due soon: 1 mention of Acme"], "sent within seconds"
            assert worker.pending_count() > 0, "the backlog was still being classified"
        finally:
            stopping.set()
            worker.stop()
            worker.join(10)
            pipeline.close()
