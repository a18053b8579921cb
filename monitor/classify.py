"""classify: new mentions get sentiment, intent, needs-response and priority, in batches.

The model loads once per process (:class:`MentionClassifier` holds it); mentions are read in
batches, classified outside any transaction, and written back only where still unclassified, so
two workers racing on the same rows waste work but never disagree or fail.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from sqlalchemy import select, update

from monitor.config import SentimentConfig
from monitor.models import Mention, utcnow
from monitor.storage import Database

log = logging.getLogger("mentiondesk.classify")


class MentionClassifier:
    def __init__(self, classifier: object, rules: object) -> None:
        self.classifier = classifier
        self.rules = rules

    @classmethod
    def load(cls, settings: SentimentConfig, rules: object) -> "MentionClassifier":
        from sentiment import load_classifier

        return cls(load_classifier(settings.backend, settings.model, settings.threads, settings.max_tokens), rules)

    def classify_pending(self, db: Database, batch_size: int = 64, limit: int | None = None) -> list[int]:
        """Classify unclassified mentions, oldest first, until none are left (or ``limit``)."""
        done: list[int] = []
        while limit is None or len(done) < limit:
            with db.read() as session:
                rows = session.execute(
                    select(Mention.id, Mention.text, Mention.lang, Mention.author_followers, Mention.replyable,
                           Mention.created_at)
                    .where(Mention.classified_at.is_(None))
                    .order_by(Mention.id)
                    .limit(batch_size * 4)
                ).all()
            if not rows:
                break
            done.extend(self._classify(db, rows, batch_size))
        return done

    def _classify(self, db: Database, rows: Sequence[object], batch_size: int) -> list[int]:
        from sentiment.triage import triage

        predictions = self.classifier.classify([r.text for r in rows], [r.lang for r in rows],  # type: ignore[attr-defined]
                                               batch_size=batch_size)
        now = utcnow()
        with db.write() as session:
            for row, prediction in zip(rows, predictions, strict=True):
                result = triage(row.text, prediction, follower_count=row.author_followers, replyable=row.replyable,
                                age_seconds=max(0.0, (now - row.created_at).total_seconds()), rules=self.rules)
                session.execute(
                    update(Mention)
                    .where(Mention.id == row.id, Mention.classified_at.is_(None))
                    .values(sentiment_label=prediction.label, sentiment_score=prediction.score,
                            lang=prediction.lang, intent=result.intent, needs_response=result.needs_response,
                            priority=result.priority, classified_at=now)
                )
        log.info("classified %d mentions", len(rows))
        return [r.id for r in rows]
