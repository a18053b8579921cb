"""A built-in, offline sample source: a reproducible stream of brand mentions for demos and tests.

Each query has ``total_per_query`` posts, numbered from 0; the cursor is the next number to read.
"""

from __future__ import annotations

import random
import time
from datetime import datetime, timedelta, timezone

from pydantic import Field

from connectors.base import (
    MAX_SETTING_SECONDS,
    Capabilities,
    Connector,
    ConnectorSettings,
    FetchResult,
    Mention,
    PostedReply,
    Query,
    ReplyTarget,
)

_TEMPLATES: tuple[tuple[str, str], ...] = (
    ("en", "@{brand} my order hasn't arrived after two weeks, this is unacceptable"),
    ("en", "Does {brand} ship to Canada? Asking before I buy"),
    ("en", "Honestly {brand} support was amazing today, thank you!"),
    ("en", "Reading about {brand} and three other companies in this week's newsletter"),
    ("es", "El pedido de {brand} llegó roto y nadie responde. Muy mal servicio"),
    ("es", "¿Alguien sabe si {brand} tiene tienda en Madrid?"),
    ("fr", "Super expérience avec {brand}, livraison rapide 👍"),
    ("pt", "{brand} cobrou duas vezes no meu cartão, alguém me ajuda?"),
    ("ar", "خدمة {brand} سيئة جدا، لم يصل طلبي حتى الآن"),
    ("hi", "{brand} का नया ऐप बहुत अच्छा है, धन्यवाद"),
    ("ta", "{brand} வாடிக்கையாளர் சேவை மிகவும் மோசம்"),
    ("km", "ខ្ញុំចូលចិត្តសេវាកម្មរបស់ {brand} ណាស់"),
)
_BASE_TIME = datetime(2026, 11, 1, 9, 0, tzinfo=timezone.utc)


class SampleSettings(ConnectorSettings):
    seed: int = 7
    total_per_query: int = Field(default=60, ge=0)
    page_size: int = Field(default=25, ge=1)  # 0 would report more pages forever and never advance
    # Pause per page, to make a poll slow enough to watch (or to interrupt in a test).
    delay_seconds: float = Field(default=0.0, ge=0, le=MAX_SETTING_SECONDS)


class SampleConnector(Connector):
    name = "sample"
    Settings = SampleSettings
    capabilities = Capabilities(can_reply=True, max_reply_chars=1000, idempotent_replies=True)
    settings: SampleSettings

    def _mention(self, query: Query, number: int) -> Mention:
        rng = random.Random(f"{self.settings.seed}:{query.key}:{number}")
        lang, template = rng.choice(_TEMPLATES)
        handle = f"user{rng.randrange(10_000)}"
        text = template.format(brand=query.brand)
        external_id = f"{query.key}:{number}"
        return Mention(
            platform=self.name,
            external_id=external_id,
            text=text,
            created_at=_BASE_TIME + timedelta(minutes=number),
            url=f"https://sample.invalid/{handle}/{number}",
            author_handle=handle,
            author_name=handle.title(),
            author_followers=rng.choice([3, 40, 250, 1_800, 52_000]),
            lang=lang,
            thread_id=external_id,
            replyable=text.startswith("@"),
            raw={"number": number, "template": template},
        )

    def fetch(self, query: Query, cursor: str | None) -> FetchResult:
        start = int(cursor) if cursor else 0
        end = min(start + self.settings.page_size, self.settings.total_per_query)
        if self.settings.delay_seconds:
            time.sleep(self.settings.delay_seconds)
        mentions = [self._mention(query, n) for n in range(start, end)]
        return FetchResult(mentions, next_cursor=str(end), has_more=end < self.settings.total_per_query)

    def reply(self, target: ReplyTarget, text: str, idempotency_key: str) -> PostedReply:
        return PostedReply(external_id=f"reply:{idempotency_key}", url=None)
