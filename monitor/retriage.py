"""retriage: apply the ``[triage]`` rules again to mentions already classified.

The rules run as mentions are classified, so a changed weight or keyword used to reach only newer
mentions. Intent, needs-response and priority are recomputed here from the three sentiment
probabilities stored with each mention (since migration 0012), without the model, and from a person's
labels where it has them, which win (see sentiment.triage). The recency term reads the mention's age
when it was classified, as it did then, so only the rules move a priority.
A mention classified before the probabilities were stored is run through the model once more
(loaded only if there is such a mention), and gets them. A mention left with no language is
detected again, among `[sentiment] expected_languages` if they were listed since.

Rows are read, computed outside any transaction (the model may run), then written one batch per
transaction, so ingest and classify workers are never held up for long.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, bindparam, select

from monitor.classify import MentionClassifier, outcome_columns, triage_row
from monitor.models import Mention
from monitor.storage import Database


@dataclass
class RetriageResult:
    changed: int = 0     # intent, needs-response or priority moved
    unchanged: int = 0
    rerun: int = 0       # classified before the probabilities were stored: run through the model again
    languages_named: int = 0   # had no language, and detection names one now


def retriage(db: Database, rules: object, load_classifier: Callable[[], MentionClassifier],
             expected_languages: Collection[str] = (), rows_per_read: int = 500,
             model_batch_size: int = 64) -> RetriageResult:
    """Re-apply `rules` to every classified mention; `load_classifier` is called at most once, for
    the first mention that has no stored probabilities."""
    from sentiment.api import Prediction
    from sentiment.langdetect import detect_language

    expected_languages = frozenset(expected_languages)  # looked up for every mention without a language
    result = RetriageResult()
    classifier: MentionClassifier | None = None
    after = 0
    while True:
        with db.read() as session:
            rows = session.execute(
                select(Mention.id, Mention.text, Mention.lang, Mention.author_followers, Mention.replyable,
                       Mention.created_at, Mention.classified_at, Mention.sentiment_label, Mention.sentiment_score,
                       Mention.sentiment_scores, Mention.intent, Mention.needs_response, Mention.priority,
                       Mention.human_sentiment_label, Mention.human_intent)
                .where(Mention.classified_at.is_not(None), Mention.id > after)
                .order_by(Mention.id).limit(rows_per_read)
            ).all()
        if not rows:
            return result
        after = rows[-1].id
        predictions: dict[int, Any] = {
            row.id: Prediction(row.sentiment_label, row.sentiment_score, row.sentiment_scores,
                               row.lang or detect_language(row.text, expected_languages=expected_languages))
            for row in rows if row.sentiment_scores}
        without = [row for row in rows if not row.sentiment_scores]
        if without:
            classifier = classifier or load_classifier()
            predictions.update(zip((row.id for row in without), classifier.predict(without, model_batch_size)))
            result.rerun += len(without)
        changes = []
        for row in rows:
            prediction = predictions[row.id]
            new = triage_row(row, prediction, row.classified_at, rules)
            moved = (new.intent, new.needs_response, new.priority) != (row.intent, row.needs_response, row.priority)
            named = row.lang is None and prediction.lang is not None
            result.changed += moved
            result.unchanged += not moved
            result.languages_named += named
            if moved or named or not row.sentiment_scores:
                changes.append((row, prediction, new))
        _write(db, changes)


def _write(db: Database, changes: Sequence[tuple[Row[Any], Any, Any]]) -> None:
    if not changes:
        return
    table = Mention.__table__
    with db.write() as session:
        # One statement for the read (an UPDATE each took ~1 ms on PostgreSQL); a mention classified again or
        # relabelled since it was read keeps the newer result.
        session.execute(
            table.update().where(
                table.c.id == bindparam("mention_id"),
                table.c.classified_at == bindparam("classified_when_read"),
                table.c.human_sentiment_label.is_not_distinct_from(bindparam("human_label_when_read")),
                table.c.human_intent.is_not_distinct_from(bindparam("human_intent_when_read"))),
            [{"mention_id": row.id, "classified_when_read": row.classified_at,
              "human_label_when_read": row.human_sentiment_label, "human_intent_when_read": row.human_intent,
              **outcome_columns(prediction, new)}
             for row, prediction, new in changes])
