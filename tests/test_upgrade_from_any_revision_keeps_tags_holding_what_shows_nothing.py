"""Tags holding characters that show nothing (a zero-width space, a word joiner, a control character)
come out of `db upgrade` the same whatever revision the database started at: cleaned, kept, and
nothing parked in the mention's raw payload (which retention later empties)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
import sqlalchemy as sa

from monitor.storage import Database

AT = datetime(2026, 11, 1, 9, tzinfo=timezone.utc)
TAGS = {1: ["refund\u200b", "outage\u2060", "\u200bshipping", "ring\x07", "cafe\u0301", "billing"],
        2: ["vip", "VIP\u200b", "\u200b"]}


# 0013: before migration 0014 cleaned stored rows; 0017: after it, before 0018 dropped what shows nothing.
@pytest.mark.parametrize("start", ["0013", "0017"])
def test_tags_holding_what_shows_nothing_upgrade_alike_from_any_revision(database_url: str, start: str) -> None:
    # From 0013, 0014 cleaned tags by clean_tag as 0018 changed it: "refund\u200b" was refused, deleted and
    # kept only under raw.tags_as_sent, where from 0017 it became "refund".
    db = Database.open(database_url)
    db.upgrade(start)
    with db.engine.begin() as conn:
        mentions = sa.Table("mentions", sa.MetaData(), autoload_with=conn)
        conn.execute(mentions.insert(), [dict(id=i, platform="x", external_id=str(i), text="acme", created_at=AT,
                                              fetched_at=AT, raw={"id": str(i)}, replyable=False, status="new",
                                              lang="en") for i in TAGS])
        conn.execute(sa.text("INSERT INTO mention_tags (mention_id, tag) VALUES (:mention, :tag)"),
                     [{"mention": mention, "tag": tag} for mention, its_tags in TAGS.items() for tag in its_tags])
    db.upgrade()
    with db.engine.connect() as conn:
        raws = dict(conn.execute(sa.select(mentions.c.id, mentions.c.raw)).all())
        kept = conn.execute(sa.text("SELECT mention_id, tag FROM mention_tags ORDER BY mention_id, tag")).all()
    db.dispose()
    assert kept == [(1, "billing"), (1, "café"), (1, "outage"), (1, "refund"), (1, "ring"), (1, "shipping"),
                    (2, "vip")]
    assert raws == {1: {"id": "1"}, 2: {"id": "2"}}
