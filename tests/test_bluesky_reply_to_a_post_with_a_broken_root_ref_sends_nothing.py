"""A Bluesky reply names its thread's root by uri and cid, taken from the parent's own reply ref. A parent whose
ref gave the root without its cid, or was not an object at all, is still stored and replyable (ingest reads an
odd ref as absent), but replying to it raised a bare KeyError or AttributeError, which `send_reply` records as
"outcome unknown, it may have posted" though nothing was sent. So did an answer to a read made before the
post (the post lookup) that could not be read. Both now fail the send, saying nothing was sent."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from connectors.base import ReplyNotAllowed, ReplyTarget
from connectors.bluesky import BlueskyConnector, BlueskySettings
from connectors.emulators import DEMO_BLUESKY_HANDLE, DEMO_SECRETS, RunningEmulators
from connectors.emulators.server import Request, Response
from monitor.models import Mention, ReplyState
from monitor.replies import draft_reply, outcome_unknown, send_reply
from monitor.storage import Database
from tests.fault_tools import rewrite_answers
from tests.more_sources_fixtures import FAST_RETRIES, one_connector_config, poll
from tests.principals import ANA

BROKEN_REFS: dict[str, Callable[[dict[str, Any], str], Any]] = {
    "root without its cid": lambda ref, root: {**ref, "root": {"uri": root}},
    "root not an object": lambda ref, root: {**ref, "root": root},
    "reply ref not an object": lambda ref, root: "oops",
}


def connector(running: RunningEmulators) -> BlueskyConnector:
    return BlueskyConnector(BlueskySettings(api_base_url=running.bluesky_url, **FAST_RETRIES),
                            dict(DEMO_SECRETS["bluesky"]))


def serve_with_reply_ref(emulators: RunningEmulators, uri: str, change: Callable[[dict[str, Any], str], Any]) -> None:
    """Serve post ``uri``'s reply ref changed by ``change`` wherever search, notifications or getPosts serve it
    (the emulator reads its records' refs itself, so they are changed on the way out, in a copy)."""
    def rewrite(request: Request, response: Response) -> Response:
        if isinstance(response.payload, dict):
            for post in (response.payload.get("posts") or []) + (response.payload.get("notifications") or []):
                if post["uri"] == uri:
                    ref = post["record"]["reply"]
                    post["record"] = {**post["record"], "reply": change(ref, ref["root"]["uri"])}
        return response

    rewrite_answers(emulators.bluesky_server, rewrite)


def stored_mention(db: Database, emulators: RunningEmulators, uri: str) -> int:
    env = {f"MENTIONDESK_BLUESKY_{k.upper()}": v for k, v in DEMO_SECRETS["bluesky"].items()}
    assert poll(db, one_connector_config(db, "bluesky", {"api_base_url": emulators.bluesky_url, "page_size": 10},
                                         env=env, handle=DEMO_BLUESKY_HANDLE)).ok
    with db.read() as session:
        mention = session.scalars(select(Mention).where(Mention.external_id == uri)).one()
        assert mention.replyable
        return mention.id


@pytest.mark.parametrize("broken", list(BROKEN_REFS))
def test_a_reply_to_a_post_whose_thread_root_cannot_be_named_fails_and_sends_nothing(
        broken: str, emulators: RunningEmulators) -> None:
    root = emulators.bluesky.add_post("Orbisto's new tracking page", handle="ana.bsky.social")
    post = emulators.bluesky.add_post(f"@{DEMO_BLUESKY_HANDLE} it shows nothing", handle="ana.bsky.social",
                                      reply_to=root)
    serve_with_reply_ref(emulators, post, BROKEN_REFS[broken])
    client = connector(emulators)
    with pytest.raises(ReplyNotAllowed, match="thread root's uri and cid.*nothing was sent"):
        client.reply(ReplyTarget("bluesky", post, True, raw={"uri": post}), "Sorry! Looking into it.", "k1")
    client.close()
    assert emulators.bluesky.replies_to(post) == []


def test_send_reply_to_a_post_whose_root_ref_lacks_its_cid_is_failed_not_unknown(
        emulators: RunningEmulators, db: Database) -> None:
    root = emulators.bluesky.add_post("Orbisto's new tracking page", handle="ana.bsky.social")
    post = emulators.bluesky.add_post(f"@{DEMO_BLUESKY_HANDLE} it shows nothing", handle="ana.bsky.social",
                                      reply_to=root)
    serve_with_reply_ref(emulators, post, BROKEN_REFS["root without its cid"])
    draft = draft_reply(db, stored_mention(db, emulators, post), "Sorry! Looking into it.", ANA)
    client = connector(emulators)
    reply = send_reply(db, draft.id, client, ANA)
    client.close()
    assert reply.state == ReplyState.FAILED.value and not outcome_unknown(reply)
    assert "nothing was sent" in (reply.error or "") and "KeyError" not in (reply.error or "")
    assert emulators.bluesky.replies_to(post) == []


def test_an_unreadable_answer_to_the_post_lookup_fails_the_send_not_unknown(
        emulators: RunningEmulators, db: Database) -> None:
    post = emulators.bluesky.add_post(f"@{DEMO_BLUESKY_HANDLE} my order is late", handle="ana.bsky.social")
    draft = draft_reply(db, stored_mention(db, emulators, post), "Sorry! Checking now.", ANA)
    client = connector(emulators)
    emulators.bluesky.inject("malformed_json", path_contains="getPosts")
    reply = send_reply(db, draft.id, client, ANA)
    assert reply.state == ReplyState.FAILED.value and not outcome_unknown(reply)
    assert "malformed JSON" in (reply.error or "") and "nothing was sent" in (reply.error or "")
    assert emulators.bluesky.replies_to(post) == []
    assert send_reply(db, draft.id, client, ANA).state == ReplyState.SENT.value  # the retry posts it, once
    client.close()
    assert len(emulators.bluesky.replies_to(post)) == 1


def test_the_emulator_serves_a_stored_post_whose_reply_ref_is_not_an_object(emulators: RunningEmulators) -> None:
    """The emulator reads its own records' refs (threads, notification reasons): one written oddly by another
    client is served as it is, where it used to answer 500 to every read that met it."""
    root = emulators.bluesky.add_post("Orbisto's new tracking page", handle="ana.bsky.social")
    post = emulators.bluesky.add_post(f"@{DEMO_BLUESKY_HANDLE} it shows nothing", handle="ana.bsky.social",
                                      reply_to=root)
    emulators.bluesky._posts[post].record["reply"] = "oops"
    client = connector(emulators)
    with pytest.raises(ReplyNotAllowed, match="nothing was sent"):
        client.reply(ReplyTarget("bluesky", post, True, raw={"uri": post}), "Sorry! Looking into it.", "k1")
    client.close()
    assert emulators.bluesky.replies_to(post) == [] and emulators.bluesky.replies_to(root) == []
