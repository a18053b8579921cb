"""classify: new mentions get sentiment, intent, needs-response and priority, in batches.

The model loads once per process (:class:`MentionClassifier` holds it). Each read's rows are
classified outside any transaction and written where still unclassified, so neither ingest nor an
agent's change to a mention waits for the model. Several workers may classify at once (on SQLite
too: ``run`` beside ``classify-pending --watch``), so a worker first claims its read: one short
transaction marks the rows claimed by it until a time (on PostgreSQL ``SELECT … FOR UPDATE SKIP
LOCKED`` picks them; SQLite's write transactions run one at a time), so workers take different
rows. A killed worker's claims run out after ``claim_seconds`` (longer where its reads take long, up
to CLAIM_LIMIT times as long), or at once for a worker on the same host (its process is seen to have ended).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, bindparam, or_, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from monitor.config import SentimentConfig
from monitor.ingest import dialect_insert
from monitor.models import AlertCheck, Mention, utcnow
from monitor.storage import Database
from monitor.workers import new_worker_id, worker_has_exited

log = logging.getLogger("mentiondesk.classify")
# Rows claimed at once: this many model batches, one write per read.
# Larger reads sort more texts by length (less padding) and give the incident candidates' embedding
# fuller batches: the worker's model step ran 1.11x (bf16) and 1.09x (int8) as fast with 512 a read
# as with 256 (interleaved in one process, AMX Xeon, 2026-12-06).
BATCHES_PER_READ = 8
# How long a worker's claim on a read lasts, at least. The model takes ~1.5 s (AMX Xeon)
# to an estimated ~13 s (Zen 1 EPYC, from its classifying rate) over a read of 512. A claim that
# runs out early only costs another worker the same work (writes land only where still
# unclassified), while a killed worker's rows wait this long. A worker whose reads take longer (a
# slow CPU, a large batch_size) claims for CLAIM_MARGIN times what its last read of a model batch or more
# took per mention: a smaller read's time is mostly one-off costs (py3langid and the embedder load on first
# use), and a first read of one mention that took 1.5 s claimed the next 512 for 38 min. A claim lasts at most
# CLAIM_LIMIT times claim_seconds, so a killed worker's rows never wait longer than that.
CLAIM_SECONDS = 120.0
CLAIM_MARGIN = 3.0
CLAIM_LIMIT = 10.0
_READ_COLUMNS = (Mention.id, Mention.text, Mention.lang, Mention.author_followers, Mention.replyable,
                 Mention.created_at, Mention.human_sentiment_label, Mention.human_intent)


def triage_row(row: Row[Any] | Mention, prediction: Any, as_of: datetime, rules: object) -> Any:
    """The triage of a mention row (text, author_followers, replyable, created_at, human_sentiment_label,
    human_intent) given its prediction, aged as of `as_of`: the time it was classified, by the worker, by
    retriage and by a relabel alike. Its needs-response and priority follow a person's labels where it has them."""
    from sentiment.triage import triage

    return triage(row.text, prediction, follower_count=row.author_followers, replyable=row.replyable,
                  age_seconds=max(0.0, (as_of - row.created_at).total_seconds()), rules=rules,
                  human_label=row.human_sentiment_label, human_intent=row.human_intent)


def outcome_columns(prediction: Any, result: Any) -> dict[str, Any]:
    """A mention's columns for its prediction and its triage, as the worker and retriage write them."""
    return {"sentiment_label": prediction.label, "sentiment_score": prediction.score,
            "sentiment_scores": prediction.scores, "lang": prediction.lang, "intent": result.intent,
            "needs_response": result.needs_response, "priority": result.priority}


class MentionClassifier:
    """A classify worker. ``stop_requested`` is asked before each read: a worker told to stop (SIGTERM) stops
    once its read in hand is stored. Given here, or set later by an owner whose stop signal comes after the
    classifier (:class:`~monitor.poller.PollScheduler`); by default it is never asked to stop."""

    def __init__(self, classifier: object, rules: object, expected_languages: Sequence[str] = (), *,
                 stop_requested: Callable[[], bool] | None = None) -> None:
        """`expected_languages`: where a mention has no language, detection is surer among these."""
        self.classifier = classifier
        self.rules = rules
        self.expected_languages = frozenset(expected_languages)
        self.claim_owner = new_worker_id()
        self._seconds_per_mention = 0.0  # the model's, over this worker's last read of a model batch or more
        self.stop_requested: Callable[[], bool] = stop_requested if stop_requested is not None else lambda: False

    @classmethod
    def load(cls, settings: SentimentConfig, rules: object, *,
             stop_requested: Callable[[], bool] | None = None) -> "MentionClassifier":
        from sentiment import load_classifier
        from sentiment.langdetect import check_languages

        check_languages(settings.expected_languages)
        model = load_classifier(settings.backend, settings.model, settings.threads, settings.max_tokens,
                                settings.precision)
        return cls(model, rules, settings.expected_languages, stop_requested=stop_requested)

    def classify_pending(self, db: Database, batch_size: int = 64, limit: int | None = None,
                         claim_seconds: float = CLAIM_SECONDS,
                         alert: Callable[[list[int]], object] | None = None,
                         between_reads: Callable[[], object] | None = None) -> list[int]:
        """Classify unclassified mentions, oldest first, until none are left (or ``limit``, or
        :attr:`stop_requested` says so between reads).

        With ``alert``, each read's mentions are stored as waiting for their alert check
        (:class:`~monitor.models.AlertCheck`) and handed to it as soon as they are committed: an urgent
        one need not wait for the rest of a backlog, and one whose check never happened (``alert``
        or a later read raised, the process died) is left for the alert engine's sweep.

        ``between_reads`` is called after each read is stored and alerted on, holding no claim: the pipeline
        worker runs its minute tick there when one is due, so a backlog that lasts does not hold it back."""
        done: list[int] = []
        size = batch_size * BATCHES_PER_READ
        while (limit is None or len(done) < limit) and not self.stop_requested():
            expected = CLAIM_MARGIN * self._seconds_per_mention * size
            rows = self._claim(db, size, min(CLAIM_LIMIT * claim_seconds, max(claim_seconds, expected)))
            if not rows:
                break
            now = utcnow()
            started = time.perf_counter()
            try:
                results = self._predict(rows, batch_size, now)
            except BaseException:
                self._release(db, rows)
                raise
            if len(rows) >= batch_size:
                self._seconds_per_mention = (time.perf_counter() - started) / len(rows)
            with db.write() as session:
                stored = self._store(session, rows, results, now, alert_check=alert is not None)
            done.extend(stored)
            log.info("classified %d mentions", len(stored))
            if alert is not None and stored:
                alert(stored)
            if between_reads is not None:
                between_reads()
        return done

    def _claim(self, db: Database, size: int, claim_seconds: float) -> list[Row[Any]]:
        """The next `size` unclassified mentions no other worker claims, oldest first, claimed by this worker."""
        now = utcnow()
        unclassified = Mention.classified_at.is_(None)
        with db.write() as session:
            # A worker killed on this host (a crash, then a restart) leaves its claims at once.
            held = session.scalars(select(Mention.classify_claimed_by).distinct().where(
                unclassified, Mention.classify_claimed_until >= now, Mention.classify_claimed_by != self.claim_owner))
            free_owners = [self.claim_owner, *(owner for owner in held if worker_has_exited(owner))]
            free = (select(Mention.id)
                    .where(unclassified, or_(Mention.classify_claimed_until.is_(None),
                                             Mention.classify_claimed_until < now,
                                             Mention.classify_claimed_by.in_(free_owners)))
                    .order_by(Mention.id).limit(size).with_for_update(skip_locked=True))
            rows = session.execute(
                update(Mention)
                .where(Mention.id.in_(free))
                .values(classify_claimed_by=self.claim_owner,
                        classify_claimed_until=now + timedelta(seconds=claim_seconds))
                .returning(*_READ_COLUMNS)
            ).all()
        return sorted(rows, key=lambda row: row.id)

    def _release(self, db: Database, rows: Sequence[Row[Any]]) -> None:
        """Give up this worker's claim on rows it could not classify, so the next worker need not wait."""
        try:
            with db.write() as session:
                session.execute(update(Mention).where(Mention.id.in_([r.id for r in rows]),
                                                      Mention.classify_claimed_by == self.claim_owner)
                                .values(classify_claimed_by=None, classify_claimed_until=None))
        except SQLAlchemyError as error:
            log.warning("could not give up the claim on %d mentions (it runs out by itself): %s", len(rows), error)

    def predict(self, rows: Sequence[Row[Any]], batch_size: int) -> list[Any]:
        """The model's predictions for rows with a `text` and a `lang` (detected where None)."""
        return self.classifier.classify(  # type: ignore[attr-defined]
            [r.text for r in rows], [r.lang for r in rows], batch_size=batch_size,
            expected_languages=self.expected_languages)

    def _predict(self, rows: Sequence[Row[Any]], batch_size: int, now: datetime) -> list[tuple[Any, Any, Any]]:
        """Per row: its prediction, its triage (ages as of `now`, which is stored as its classified_at,
        so `mentiondesk retriage` reads the same ages) and, for incident candidates where the model
        has them, its sentence embedding (else None)."""
        from monitor.incidents import is_candidate

        texts = [r.text for r in rows]
        predictions = self.predict(rows, batch_size)
        triages = [triage_row(row, prediction, now, self.rules)
                   for row, prediction in zip(rows, predictions, strict=True)]
        wanted = [i for i, (p, t) in enumerate(zip(predictions, triages)) if is_candidate(p.label, t.intent)]
        vectors: dict[int, Any] = {}
        if wanted and hasattr(self.classifier, "embed"):
            vectors = dict(zip(wanted, self.classifier.embed([texts[i] for i in wanted], batch_size=batch_size)))
        return [(p, t, vectors.get(i)) for i, (p, t) in enumerate(zip(predictions, triages))]

    def _store(self, session: Session, rows: Sequence[Row[Any]], results: Sequence[tuple[Any, Any, Any]],
               now: datetime, alert_check: bool = False) -> list[int]:
        """Write results where still unclassified and still claimed by this worker; returns the ids this
        call classified. A row's claim is gone where it ran out and another worker took the row, or where
        ingest changed the row since it was read (moved it to another brand, made it replyable) or a person
        relabelled it: what was computed from the old row must not be stored. One statement for all rows: an
        UPDATE each took ~1 ms on PostgreSQL, ~0.6 s a read."""
        from monitor.incidents import store_embeddings

        # Locked, so no other worker classifies them between this check and the write.
        unclassified = set(session.scalars(select(Mention.id).where(
            Mention.id.in_([row.id for row in rows]), Mention.classified_at.is_(None),
            Mention.classify_claimed_by == self.claim_owner).with_for_update()))
        writes = [(row, prediction, result, vector)
                  for row, (prediction, result, vector) in zip(rows, results, strict=True) if row.id in unclassified]
        if writes:
            table = Mention.__table__
            session.execute(table.update().where(table.c.id == bindparam("mention_id")), [
                {"mention_id": row.id, **outcome_columns(prediction, result), "classified_at": now,
                 "classify_claimed_by": None, "classify_claimed_until": None}
                for row, prediction, result, _ in writes])
        if alert_check and writes:
            # A mention classified again (ingest moved it to another brand) may still wait for its first check.
            waiting = (dialect_insert(session)(AlertCheck.__table__)
                       .on_conflict_do_nothing(index_elements=["mention_id"]))
            session.execute(waiting, [{"mention_id": row.id} for row, *_ in writes])
        store_embeddings(session, {row.id: vector for row, _, _, vector in writes if vector is not None})
        return [row.id for row, *_ in writes]
