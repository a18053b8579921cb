"""After ingest: classify new mentions, then let the alert engine see them.

``mentiondesk run`` does this on a worker thread woken whenever a poll stores something (and
once a minute for time-based alerts), so a slow model or chat service never delays polling;
``poll --once`` and ``classify-pending`` call it directly.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable, Iterable

from sqlalchemy import func, select

from monitor.alerts.engine import AlertEngine
from monitor.classify import MentionClassifier
from monitor.config import Config
from monitor.followups import run_due
from monitor.incidents import IncidentDetector
from monitor.models import Mention
from monitor.storage import Database

log = logging.getLogger("mentiondesk.pipeline")


class Pipeline:
    def __init__(self, db: Database, classifier: MentionClassifier | None, alerts: AlertEngine | None = None,
                 batch_size: int = 64, incidents: IncidentDetector | None = None) -> None:
        self.db = db
        self.classifier = classifier
        self.alerts = alerts
        self.batch_size = batch_size
        self.incidents = incidents
        self._started = False

    @classmethod
    def from_config(cls, db: Database, config: Config, stop_requested: Callable[[], bool] | None = None) -> "Pipeline":
        """``stop_requested``: the classifier's (see :class:`MentionClassifier`)."""
        classifier = None
        if config.sentiment.backend != "none":
            classifier = MentionClassifier.load(config.sentiment, config.triage_rules, stop_requested=stop_requested)
        alerts = (AlertEngine(db, config.alerts, config.alert_targets, brand_keys=[b.key for b in config.brands])
                  if config.alert_targets else None)
        return cls(db, classifier, alerts, config.sentiment.batch_size,
                   cls._incident_detector(db, config, classifier))

    @staticmethod
    def _incident_detector(db: Database, config: Config,
                           classifier: MentionClassifier | None) -> IncidentDetector | None:
        """Detection groups candidates by the default model's sentence embeddings, which only it computes:
        with another backend (``hf``) nothing was ever grouped, unsaid, so it is not run, and a warning says so."""
        if classifier is None or not config.incidents.enabled:
            return None
        embed = getattr(classifier.classifier, "embed", None)
        if embed is None:
            log.warning('incident detection is off: it needs [sentiment] backend = "default" (the %r backend '
                        "computes no embeddings to group complaints by)", config.sentiment.backend)
            return None
        return IncidentDetector(db, config.incidents, config.alert_targets,
                                embed=functools.partial(embed, batch_size=config.sentiment.batch_size))

    def start(self) -> "Pipeline":
        """Start alert delivery; calling it again (e.g. the demo, then the scheduler) is harmless."""
        if self.alerts is not None and not self._started:
            self.alerts.start()
        self._started = True
        return self

    def close(self, timeout: float = 5.0) -> None:
        if self.alerts is not None and self._started:
            self.alerts.close(timeout)
        self._started = False

    def process_pending(self, new_ids: Iterable[int] = (),
                        between_reads: Callable[[], object] | None = None) -> list[int]:
        """Classify everything not yet classified, raising alerts for each read as it is stored (what a
        failure leaves unchecked, the alert engine's tick sweeps up); returns the ids classified.
        ``between_reads``: see :meth:`MentionClassifier.classify_pending`."""
        alert = self.alerts.on_new_mentions if self.alerts is not None else None
        classified = (self.classifier.classify_pending(self.db, batch_size=self.batch_size, alert=alert,
                                                       between_reads=between_reads)
                      if self.classifier else [])
        # New mentions not classified here (no model, or another worker's read) are checked as they stand.
        unclassified = sorted(set(new_ids) - set(classified))
        if alert is not None and unclassified:
            alert(unclassified)
        if self.incidents is not None and classified and self.incidents.run().opened and self.alerts is not None:
            self.alerts.wake()  # the new incidents' alerts
        return classified

    def pending_count(self) -> int:
        with self.db.read() as session:
            return session.scalar(select(func.count()).where(Mention.classified_at.is_(None))) or 0

    def tick(self) -> None:
        """Time-based work: spikes, SLA warnings, the daily digest; follow-ups and check-ins that came due."""
        run_due(self.db)
        if self.alerts is not None:
            self.alerts.tick()


class PipelineWorker(threading.Thread):
    """Runs the pipeline whenever woken, until stopped; new mentions are never lost on an error,
    because unclassified ones stay pending in the database and are picked up next time, and
    classified ones not yet checked for alerts wait for the next tick's sweep."""

    def __init__(self, pipeline: Pipeline) -> None:
        super().__init__(daemon=True, name="pipeline")
        self.pipeline = pipeline
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._new_ids: set[int] = set()
        self._tick_due = False

    def wake(self, new_ids: Iterable[int] = (), tick: bool = False) -> None:
        with self._lock:
            self._new_ids.update(new_ids)
            self._tick_due = self._tick_due or tick
        self._wake.set()

    def pending_count(self) -> int:
        """Unclassified mentions waiting (the classification lag a supervisor watches)."""
        return self.pipeline.pending_count()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    def run(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait()
            self._wake.clear()
            with self._lock:
                new_ids, self._new_ids = self._new_ids, set()
            try:
                # A backlog can take minutes or, with mentions arriving faster than the model reads them, never
                # end: the tick runs between its reads when due, so SLA warnings, spikes and follow-ups keep time.
                self.pipeline.process_pending(new_ids, between_reads=self._tick_if_due)
            except Exception:
                log.exception("processing new mentions failed; unclassified ones stay pending")
            # Apart from the classification: a mention that fails on every read must not starve
            # follow-ups, check-ins and SLA alerts.
            self._tick_if_due()

    def _tick_if_due(self) -> None:
        """Run the tick if one was requested since the last ran; only on this thread, so never twice at once."""
        with self._lock:
            tick, self._tick_due = self._tick_due, False
        if tick:
            try:
                self.pipeline.tick()
            except Exception:
                log.exception("time-based alerts and follow-ups failed; the next tick tries again")
