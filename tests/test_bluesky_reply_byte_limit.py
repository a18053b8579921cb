"""Bluesky caps a post's text at 300 graphemes and at 3000 UTF-8 bytes; the SDK's Record model refuses text over
3000 characters with a pydantic ValidationError. Only graphemes were checked: a reply of 290 graphemes built of
combining marks (6090 bytes) reached the SDK, whose ValidationError `send_reply` read as a possible send, so the
reply stayed in `sending` as "delivery unknown" though nothing was posted. The connector now refuses it up front
with a ConnectorError naming the limit, and turns any refusal of the SDK's models into one: nothing was sent."""

from __future__ import annotations

import pytest
from sqlalchemy import select

import connectors.bluesky as bluesky
from connectors.base import ConnectorError, ReplyNotAllowed, ReplyTarget
from connectors.bluesky import BlueskyConnector, BlueskySettings
from connectors.emulators import DEMO_BLUESKY_HANDLE, DEMO_SECRETS, RunningEmulators
from connectors.graphemes import grapheme_count
from monitor.models import Mention, Reply, ReplyState
from monitor.replies import draft_reply, send_reply
from monitor.storage import Database
from monitor.templates import ReplyTooLong
from tests.more_sources_fixtures import one_connector_config, poll
from tests.principals import ANA

# 290 graphemes (within 300), each an "e" with ten combining acute accents: 6090 UTF-8 bytes.
HEAVY = ("e" + "\u0301" * 10) * 290
MISSING = "at://did:plc:nobodyhere/app.bsky.feed.post/3kxyz"


def connector(running: RunningEmulators) -> BlueskyConnector:
    return BlueskyConnector(BlueskySettings(api_base_url=running.bluesky_url, page_size=10),
                            dict(DEMO_SECRETS["bluesky"]))


def test_over_3000_bytes_is_refused_by_its_limit_before_anything_is_asked(emulators: RunningEmulators) -> None:
    assert grapheme_count(HEAVY) == 290 and len(HEAVY.encode()) == 6090
    client = connector(emulators)
    # The post does not exist: asking Bluesky first would be refused as "no longer exists" instead.
    with pytest.raises(ConnectorError, match="6090 UTF-8 bytes; Bluesky allows 3000") as refused:
        client.reply(ReplyTarget("bluesky", MISSING, True), HEAVY, "k1")
    assert not isinstance(refused.value, ReplyNotAllowed)
    # Exactly 3000 bytes in 300 graphemes (an "e" and three 3-byte combining marks, 10 bytes each) is not
    # refused for its length; 3 bytes more is.
    exactly = ("e" + "\u20d0" * 3) * 300
    assert grapheme_count(exactly) == 300 and len(exactly.encode()) == 3000
    with pytest.raises(ReplyNotAllowed, match="no longer exists"):
        client.reply(ReplyTarget("bluesky", MISSING, True), exactly, "k2")
    with pytest.raises(ConnectorError, match="3003 UTF-8 bytes; Bluesky allows 3000"):
        client.reply(ReplyTarget("bluesky", MISSING, True), exactly[:-4] + "e" + "\u0301" * 6, "k3")
    client.close()


def test_a_record_the_sdk_refuses_is_a_connector_error_and_nothing_is_posted(
        emulators: RunningEmulators, monkeypatch: pytest.MonkeyPatch) -> None:
    post = emulators.bluesky.add_post(f"@{DEMO_BLUESKY_HANDLE} my order is late", handle="ana.bsky.social")
    monkeypatch.setattr(bluesky, "MAX_POST_BYTES", 10_000, raising=False)  # on to the SDK
    client = connector(emulators)
    with pytest.raises(ConnectorError, match=r"SDK refused the reply as built \(text: .*3000.*\); nothing was sent"):
        client.reply(ReplyTarget("bluesky", post, True, raw={"uri": post, "mentions_brand": True}), HEAVY, "k1")
    client.close()
    assert emulators.bluesky.replies_to(post) == []


def test_send_reply_refuses_a_too_heavy_reply_before_claiming_it(emulators: RunningEmulators, db: Database) -> None:
    post = emulators.bluesky.add_post(f"@{DEMO_BLUESKY_HANDLE} my order is late", handle="ana.bsky.social")
    env = {f"MENTIONDESK_BLUESKY_{k.upper()}": v for k, v in DEMO_SECRETS["bluesky"].items()}
    assert poll(db, one_connector_config(db, "bluesky", {"api_base_url": emulators.bluesky_url, "page_size": 10},
                                         env=env, handle=DEMO_BLUESKY_HANDLE)).ok
    with db.read() as session:
        mention_id = session.scalar(select(Mention.id).where(Mention.external_id == post))
    assert mention_id is not None
    client = connector(emulators)
    draft = draft_reply(db, mention_id, HEAVY, ANA)
    with pytest.raises(ReplyTooLong, match="the reply is 6090 UTF-8 bytes; bluesky allows 3000"):
        send_reply(db, draft.id, client, ANA)  # the reply box's check too (check_replyable)
    client.close()
    with db.read() as session:
        assert session.get(Reply, draft.id).state == ReplyState.DRAFT.value  # nothing claimed, nothing unknown
    assert emulators.bluesky.replies_to(post) == []
