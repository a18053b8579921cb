"""A Bluesky post's text links nothing by itself: the app shows a link as a link, and notifies someone @named,
only through the record's ``app.bsky.richtext.facet`` entries (byte offsets into the UTF-8 text). Replies were
posted without any, so a tracking link was dead text and an @handle notified nobody. They now carry facets
found as the official app finds them: links (a bare domain gets https://), @handles resolved to their DIDs (one
that does not resolve stays plain text) and hashtags."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from connectors.base import ConnectorError, DeliveryUnknown, ReplyTarget
from connectors.bluesky import BlueskyConnector, BlueskySettings
from connectors.emulators import DEMO_BLUESKY_HANDLE, DEMO_SECRETS, RunningEmulators
from monitor.models import Mention, Reply, ReplyState
from monitor.replies import draft_reply, send_reply
from monitor.storage import Database
from tests.more_sources_fixtures import FAST_RETRIES, one_connector_config, poll
from tests.principals import ANA

LINK = "app.bsky.richtext.facet#link"
MENTION = "app.bsky.richtext.facet#mention"
TAG = "app.bsky.richtext.facet#tag"


def connector(running: RunningEmulators) -> BlueskyConnector:
    return BlueskyConnector(BlueskySettings(api_base_url=running.bluesky_url, **FAST_RETRIES),
                            dict(DEMO_SECRETS["bluesky"]))


def facets_as_text(record: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Each stored facet as the text its byte slice covers and its feature (less ``$type``'s own key)."""
    text = record["text"].encode()
    found = []
    for facet in record.get("facets") or []:
        (feature,) = facet["features"]
        covered = text[facet["index"]["byteStart"]:facet["index"]["byteEnd"]].decode()
        found.append((covered, feature))
    return found


def test_a_replys_links_handles_and_hashtags_are_posted_as_facets(emulators: RunningEmulators) -> None:
    bluesky = emulators.bluesky
    helper = bluesky.add_post("I answer Orbisto questions", handle="help.orbisto.bsky.social")
    post = bluesky.add_post(f"@{DEMO_BLUESKY_HANDLE} où est mon colis ?", handle="ana.bsky.social")
    helper_did = bluesky._posts[helper].author.did
    # Accents and an emoji first, so character and byte offsets differ.
    text = ("Désolé 🙏 ! Suivi : https://orbisto.example/track?id=5521, ou orbisto.com/aide. "
            "Demandez à @help.orbisto.bsky.social (pas @nobody.bsky.social) #OrbistoAide e.g. v1.2")
    client = connector(emulators)
    posted = client.reply(ReplyTarget("bluesky", post, True, raw={"uri": post}), text, "k1")
    client.close()
    record = bluesky._posts[posted.external_id].record
    assert record["text"] == text
    assert facets_as_text(record) == [
        ("https://orbisto.example/track?id=5521", {"$type": LINK, "uri": "https://orbisto.example/track?id=5521"}),
        ("orbisto.com/aide", {"$type": LINK, "uri": "https://orbisto.com/aide"}),
        ("@help.orbisto.bsky.social", {"$type": MENTION, "did": helper_did}),
        ("#OrbistoAide", {"$type": TAG, "tag": "OrbistoAide"}),
    ], "a handle nobody has stays plain text, and so do 'e.g.' and 'v1.2' (no such top-level domain)"
    assert [r["uri"] for r in bluesky.replies_to(post)] == [posted.external_id]


def test_a_reply_without_links_handles_or_hashtags_has_no_facets(emulators: RunningEmulators) -> None:
    post = emulators.bluesky.add_post(f"@{DEMO_BLUESKY_HANDLE} my order is late", handle="ana.bsky.social")
    client = connector(emulators)
    posted = client.reply(ReplyTarget("bluesky", post, True, raw={"uri": post}), "Sorry! Checking now.", "k1")
    client.close()
    assert "facets" not in emulators.bluesky._posts[posted.external_id].record


def test_a_handle_bluesky_cannot_look_up_fails_the_send_before_anything_is_posted(
        emulators: RunningEmulators, db: Database) -> None:
    """Resolving a handle is a read: retried on a 5xx, and where it keeps failing the send fails (it may be
    retried) rather than being unknown; the retry posts the reply once, with its mention."""
    bluesky = emulators.bluesky
    helper = bluesky.add_post("I answer Orbisto questions", handle="help.orbisto.bsky.social")
    post = bluesky.add_post(f"@{DEMO_BLUESKY_HANDLE} my order is late", handle="ana.bsky.social")
    env = {f"MENTIONDESK_BLUESKY_{k.upper()}": v for k, v in DEMO_SECRETS["bluesky"].items()}
    assert poll(db, one_connector_config(db, "bluesky", {"api_base_url": emulators.bluesky_url, "page_size": 10},
                                         env=env, handle=DEMO_BLUESKY_HANDLE)).ok
    with db.read() as session:
        mention_id = session.scalar(select(Mention.id).where(Mention.external_id == post))
    draft = draft_reply(db, mention_id, "Sorry! @help.orbisto.bsky.social will check.", ANA)
    client = connector(emulators)
    bluesky.inject("server_error", times=3, status=502, path_contains="resolveHandle")  # every try of one send
    failed = send_reply(db, draft.id, client, ANA)
    assert failed.state == ReplyState.FAILED.value, "nothing was sent: a failure to retry, not an unknown outcome"
    # The brand account's handle is one of the connector's secrets, masked in a recorded error wherever it stands.
    assert "the handle @help.*** in the reply" in (failed.error or "")
    assert bluesky.replies_to(post) == []
    bluesky.inject("server_error", times=1, status=502, path_contains="resolveHandle")  # retried by itself
    sent = send_reply(db, draft.id, client, ANA)
    client.close()
    assert sent.state == ReplyState.SENT.value
    (reply,) = bluesky.replies_to(post)
    assert facets_as_text(bluesky._posts[reply["uri"]].record) == [
        ("@help.orbisto.bsky.social", {"$type": MENTION, "did": bluesky._posts[helper].author.did})]
    with db.read() as session:
        assert session.get(Reply, draft.id).external_id == reply["uri"]


@pytest.mark.parametrize("facets", [
    "not a list",
    [{"index": {"byteStart": -1, "byteEnd": 3}, "features": [{"$type": LINK, "uri": "https://x.com"}]}],
    [{"index": {"byteStart": 0, "byteEnd": 3}, "features": [{"$type": MENTION, "did": "ana.bsky.social"}]}],
    [{"index": {"byteStart": 0, "byteEnd": 3}, "features": [{"$type": TAG}]}],
])
def test_the_emulator_refuses_facets_the_lexicon_does_not_allow(emulators: RunningEmulators, facets: Any) -> None:
    post = emulators.bluesky.add_post("Orbisto?", handle="ana.bsky.social")
    client = connector(emulators)
    client._login()
    cid = emulators.bluesky._posts[post].cid
    record = {"$type": "app.bsky.feed.post", "text": "hi there", "createdAt": "2026-12-01T00:00:00.000Z",
              "facets": facets, "reply": {"root": {"uri": post, "cid": cid}, "parent": {"uri": post, "cid": cid}}}
    with pytest.raises(ConnectorError, match="Invalid app.bsky.feed.post record: facets") as refused:
        client._call("the reply", lambda: client.client.com.atproto.repo.create_record(
            {"repo": emulators.bluesky.brand.did, "collection": "app.bsky.feed.post", "record": record}), read=False)
    client.close()
    assert not isinstance(refused.value, DeliveryUnknown)
    assert emulators.bluesky.replies_to(post) == []
