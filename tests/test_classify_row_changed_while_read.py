"""A mention ingest moves to our brand and makes replyable while a classify worker is reading it is triaged
from the row as it is now: the worker's triage of the old row (not replyable, a competitor's) is not stored."""

from __future__ import annotations

from sqlalchemy import select

from connectors.base import FetchResult
from monitor.classify import MentionClassifier
from monitor.config import Config
from monitor.ingest import ingest_page, sync_brands
from monitor.models import Mention
from monitor.storage import Database
from sentiment.api import Prediction
from sentiment.triage import TriageRules
from tests.connector_doubles import mention

CONFIG = Config.from_dict({"brands": [{"name": "Orbisto", "keywords": ["orbisto"]},
                                      {"name": "Rival", "keywords": ["rival"], "competitor": True}],
                           "connectors": {"sample": {}}}, env={})
TEXT = "@orbisto my order arrived broken, please help me get a refund"


class ReadWhileIngestMovesIt:
    """A stand-in model (every text negative) that, on its first read, lets another worker's poll store
    the same post fetched by our brand's query, @mentioning us: ingest moves it to our brand, replyable."""

    def __init__(self, db: Database, ours_query: int) -> None:
        self.db, self.ours_query, self.texts_read = db, ours_query, []

    def classify(self, texts: list[str], langs: list[str | None], batch_size: int = 64,
                 expected_languages: frozenset[str] = frozenset()) -> list[Prediction]:
        if not self.texts_read:
            ingest_page(self.db, connector="sample", query_id=self.ours_query,
                        result=FetchResult([mention("sample", 1, text=TEXT, replyable=True)], next_cursor=None))
        self.texts_read.extend(texts)
        scores = {"negative": 0.9, "neutral": 0.05, "positive": 0.05}
        return [Prediction("negative", 0.9, scores, lang or "en") for lang in langs]


def test_a_mention_moved_to_our_brand_while_read_is_triaged_as_ours_and_replyable(db: Database) -> None:
    queries = sync_brands(db, CONFIG.brands, {"sample": CONFIG.queries_for("sample")})
    ingest_page(db, connector="sample", query_id=queries[("sample", "rival")],
                result=FetchResult([mention("sample", 1, text=TEXT, replyable=False)], next_cursor=None))
    model = ReadWhileIngestMovesIt(db, queries[("sample", "orbisto")])
    MentionClassifier(model, TriageRules()).classify_pending(db)
    with db.read() as session:
        stored = session.scalar(select(Mention))
    assert stored.replyable and stored.classified_at is not None and stored.classify_claimed_by is None
    assert stored.needs_response, "triaged from the row as read before it became ours and replyable"
    assert model.texts_read == [TEXT, TEXT]  # read again, as it is now
