"""A classify worker for the kill -9 test: ``python -m tests.classify_worker DATABASE_URL``.

The real claim-and-store path (:meth:`monitor.classify.MentionClassifier.classify_pending`, as
``mentiondesk classify-pending`` runs it) with a slow stand-in model, so a test can kill it mid-batch
without loading the 470 MB base model twice.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from types import SimpleNamespace
from typing import Any

from monitor.classify import CLAIM_SECONDS, MentionClassifier
from monitor.storage import Database
from sentiment.triage import TriageRules


class SlowModel:
    """Answers like the model (label, score, scores, lang), slowly: long enough per batch that a kill
    lands mid-classify. Plain values, so the worker starts without importing torch."""

    def __init__(self, seconds_per_batch: float) -> None:
        self.seconds_per_batch = seconds_per_batch

    def classify(self, texts: list[str], langs: list[str | None], batch_size: int = 64,
                 expected_languages: frozenset[str] = frozenset()) -> list[Any]:
        time.sleep(self.seconds_per_batch * -(-len(texts) // batch_size))
        scores = {"negative": 0.9, "neutral": 0.05, "positive": 0.05}
        return [SimpleNamespace(label="negative", score=0.9, scores=scores, lang=lang or "en") for lang in langs]


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.classify_worker", description=__doc__)
    parser.add_argument("url")
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--seconds-per-batch", type=float, default=0.1)
    parser.add_argument("--claim-seconds", type=float, default=CLAIM_SECONDS)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    classifier = MentionClassifier(SlowModel(args.seconds_per_batch), TriageRules())
    classified = classifier.classify_pending(Database.open(args.url), batch_size=args.batch_size,
                                             claim_seconds=args.claim_seconds)
    print(f"classified {len(classified)} mention(s)", flush=True)


if __name__ == "__main__":
    main()
