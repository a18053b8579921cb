"""The classify worker's write: one statement for a read's mentions, against one per mention.

    .venv/bin/python bench/classify_write.py [--reads 12] [--postgres-url URL] [--model]

A worker claims a read of 512 unclassified mentions, runs the model, then writes each result where
the mention is still unclassified, with the incident candidates' embeddings. Until 2026-12-06 that
write was an UPDATE per mention and a merge (SELECT, then INSERT) per embedding; now it is one
locking SELECT, one executemany UPDATE and one upsert. Both writes run here over the same
mentions (from the emulators' multilingual stream), in turns, on SQLite and, with
``--postgres-url``, on PostgreSQL (in a scratch schema, dropped afterwards). The model's output is
a stand-in (every mention negative, so every one an incident candidate: the write's worst case),
so only the write is timed. ``--model`` also runs `classify_pending` end to end with the bundled
model over the same mentions, each write in turn, and prints mentions/s. The stream repeats its
texts (472 in 3,072 posts), which the model runs once each per call, so those rates are above what
all-different texts would give.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

sys.path[0] = str(Path(__file__).resolve().parents[1])  # the repo, not bench/: bench/queue.py would shadow the stdlib

import numpy as np  # noqa: E402
from sqlalchemy import Row, update  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from connectors.emulators.corpus import MentionStream  # noqa: E402
from monitor.classify import BATCHES_PER_READ, CLAIM_SECONDS, MentionClassifier, outcome_columns  # noqa: E402
from monitor.incidents import pack  # noqa: E402
from monitor.models import Mention, MentionEmbedding, utcnow  # noqa: E402
from monitor.storage import Database  # noqa: E402
from sentiment.api import Prediction  # noqa: E402
from sentiment.triage import DEFAULT_RULES  # noqa: E402
from tests.scratch_postgres import scratch_schema  # noqa: E402

BATCH = 64
READ = BATCH * BATCHES_PER_READ


class StandIn:
    """The model's output shape, at once: every mention negative, with a unit vector each."""

    def classify(self, texts: list[str], langs: list[str | None], batch_size: int = BATCH,
                 expected_languages: frozenset[str] = frozenset()) -> list[Prediction]:
        return [Prediction("negative", 0.9, {"negative": 0.9, "neutral": 0.05, "positive": 0.05}, lang or "en")
                for lang in langs]

    def embed(self, texts: Sequence[str], batch_size: int = BATCH) -> np.ndarray:
        vectors = np.random.default_rng(len(texts)).normal(size=(len(texts), 384)).astype(np.float32)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


class RowByRowWrite(MentionClassifier):
    """The write as it was until 2026-12-06: an UPDATE per mention, a merge per embedding."""

    def _store(self, session: Session, rows: Sequence[Row[Any]], results: Sequence[tuple[Any, Any, Any]],
               now: Any, alert_check: bool = False) -> list[int]:
        # `alert_check` (classify_pending's, True only when given an `alert`; never here): the old write had none.
        stored = []
        for row, (prediction, result, vector) in zip(rows, results, strict=True):
            if session.execute(
                update(Mention).where(Mention.id == row.id, Mention.classified_at.is_(None))
                .values(**outcome_columns(prediction, result), classified_at=now,
                        classify_claimed_by=None, classify_claimed_until=None)
            ).rowcount:
                stored.append(row.id)
                if vector is not None:
                    session.merge(MentionEmbedding(mention_id=row.id, vector=pack(vector)))
        return stored


def fill(db: Database, count: int) -> None:
    """`count` unclassified mentions; any earlier ones (and their embeddings) removed."""
    posts = [MentionStream(seed=11).post(n) for n in range(count)]
    now = utcnow()
    with db.write() as session:
        session.execute(MentionEmbedding.__table__.delete())
        session.execute(Mention.__table__.delete())
        session.add_all(Mention(platform="bench", external_id=str(post.number), text=post.render("Acme", "@acme"),
                                lang=post.lang, created_at=now, raw={}) for post in posts)


def write_times(db: Database, worker: MentionClassifier, reads: int) -> list[float]:
    """Seconds of each read's write (claim and model untimed)."""
    fill(db, reads * READ)
    times = []
    while rows := worker._claim(db, READ, CLAIM_SECONDS):
        now = utcnow()
        results = worker._predict(rows, BATCH, now)
        start = time.perf_counter()
        with db.write() as session:
            worker._store(session, rows, results, now)
        times.append(time.perf_counter() - start)
    return times


def end_to_end(db: Database, worker: MentionClassifier, reads: int) -> float:
    """Mentions/s of `classify_pending` over `reads` reads."""
    fill(db, reads * READ)
    start = time.perf_counter()
    done = worker.classify_pending(db, batch_size=BATCH)
    return len(done) / (time.perf_counter() - start)


def compare(name: str, db: Database, reads: int, model: Callable[[], Any] | None) -> None:
    db.upgrade()
    new, old = MentionClassifier(StandIn(), DEFAULT_RULES), RowByRowWrite(StandIn(), DEFAULT_RULES)
    write_times(db, new, 1)  # warm-up: statement caches, the first pages of the file
    new_times, old_times = [], []
    for _ in range(3):  # in turns, so drift on a noisy host lands on both
        new_times += write_times(db, new, reads // 3)
        old_times += write_times(db, old, reads // 3)
    new_ms, old_ms = statistics.median(new_times) * 1000, statistics.median(old_times) * 1000
    print(f"{name}: write of {READ} mentions, every one with an embedding (median of {len(new_times)} reads): "
          f"one statement {new_ms:.0f} ms, one per mention {old_ms:.0f} ms = {old_ms / new_ms:.1f}x")
    if model is not None:
        classifier = model()
        new, old = MentionClassifier(classifier, DEFAULT_RULES), RowByRowWrite(classifier, DEFAULT_RULES)
        end_to_end(db, new, 1)  # warm-up: the model's first batches
        rates: dict[str, list[float]] = {"one statement": [], "one per mention": []}
        for _ in range(2):
            rates["one statement"].append(end_to_end(db, new, reads // 2))
            rates["one per mention"].append(end_to_end(db, old, reads // 2))
        best = {k: max(v) for k, v in rates.items()}
        print(f"{name}: classify_pending end to end with the bundled model, {reads // 2 * READ} mentions a pass "
              f"(fastest of 2): one statement {best['one statement']:.0f} mentions/s, one per mention "
              f"{best['one per mention']:.0f} = {best['one statement'] / best['one per mention']:.2f}x")
    db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reads", type=int, default=12, help="reads of 512 per write (default 12; at least 3, as "
                        "each write is timed over a third of them)")
    parser.add_argument("--postgres-url", help="also on PostgreSQL, e.g. postgresql+psycopg://postgres@127.0.0.1/test")
    parser.add_argument("--model", action="store_true", help="also end to end with the bundled model")
    args = parser.parse_args()
    if args.reads < 3:
        parser.error("--reads: at least 3")
    model = None
    if args.model:
        from sentiment import load_classifier

        def model() -> Any:
            return load_classifier(threads=2)
    with tempfile.TemporaryDirectory() as folder:
        compare("SQLite", Database.open(f"sqlite:///{folder}/bench.db"), args.reads, model)
    if args.postgres_url:
        with scratch_schema(args.postgres_url, prefix="bench") as url:
            compare("PostgreSQL", Database.open(url), args.reads, model)


if __name__ == "__main__":
    main()
