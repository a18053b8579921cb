"""A competitor brand's customers are not ours to answer: suggestions for a competitor's mention filled
``{brand}`` with the competitor's name ("… Rival support"), ready to send from our account. Suggesting is now
refused for such a mention, with a reason the reply box shows, as a bulk reply to a competitor's incident is."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from monitor.errors import ReplyError
from monitor.models import Brand, Mention
from monitor.storage import Database
from monitor.suggestions import suggest
from tests.test_suggestions import TEMPLATES, _same_vector


def test_a_competitors_mention_gets_no_suggestions(db: Database) -> None:
    with db.write() as session:
        rival = Brand(key="rival", name="Rival", competitor=True)
        session.add(rival)
        session.flush()
        mention = Mention(brand_id=rival.id, platform="sample", external_id="p1", text="Rival's router died again",
                          lang="en", created_at=datetime.now(timezone.utc), author_handle="ana", author_name="Ana",
                          replyable=True, raw={})
        session.add(mention)
        session.flush()
        mention_id = mention.id
    with pytest.raises(ReplyError, match="Rival, a competitor brand: its customers are not ours to answer"):
        suggest(db, mention_id, TEMPLATES, default_brand="Orbisto", embed=_same_vector)
