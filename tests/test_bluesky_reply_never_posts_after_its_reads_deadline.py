"""A Bluesky reply reads the post, then each @handle in it, every read retried (4 tries of up to 30 s by default),
before posting. With a slow AppView that added up past monitor.replies.SENDER_GONE_AFTER (measured with the
emulator, scaled: six handles posted 12 minutes after the send began), when a person may already have marked
the reply not posted and sent it again: the customer got it twice. The reads now share one budget
(REPLY_READS_SECONDS); once it is spent the reply gives up before posting, and may be retried."""

from __future__ import annotations

import time
from typing import Any

import pytest

from connectors import bluesky as bluesky_module
from connectors.base import ConnectorError, DeliveryUnknown, ReplyTarget
from connectors.bluesky import BlueskyConnector, BlueskySettings
from connectors.emulators import DEMO_BLUESKY_HANDLE, DEMO_SECRETS, RunningEmulators
from connectors.emulators.bluesky_api import BlueskyEmulator
from connectors.emulators.server import Request, Response

BUDGET = 0.5  # seconds, for REPLY_READS_SECONDS
HANDLES = ("help.orbisto.bsky.social", "billing.orbisto.bsky.social", "ops.orbisto.bsky.social")
TEXT = "Sorry! " + " ".join(f"@{handle}" for handle in HANDLES) + " will check."


def _send(emulators: RunningEmulators, **settings: Any) -> tuple[str, BlueskyConnector]:
    """A post to answer, the handles the reply names, and a logged-in connector."""
    for handle in HANDLES:
        emulators.bluesky.add_post("I answer Orbisto questions", handle=handle)
    post = emulators.bluesky.add_post(f"@{DEMO_BLUESKY_HANDLE} my order is late", handle="ana.bsky.social")
    client = BlueskyConnector(BlueskySettings(api_base_url=emulators.bluesky_url, **settings),
                              dict(DEMO_SECRETS["bluesky"]))
    client._login()
    return post, client


def _gives_up_before_posting(client: BlueskyConnector, post: str, emulators: RunningEmulators) -> None:
    target = ReplyTarget("bluesky", post, True, raw={"uri": post})
    started = time.monotonic()
    with pytest.raises(ConnectorError, match="nothing was posted, so it may be retried") as gave_up:
        client.reply(target, TEXT, "k1")
    assert not isinstance(gave_up.value, DeliveryUnknown), "nothing was sent: a failure to retry, not an unknown"
    assert time.monotonic() - started < BUDGET + 0.4, "no read started, and no back-off waited, past the budget"
    assert emulators.bluesky.replies_to(post) == []


def test_slow_reads_use_up_the_budget_and_the_reply_is_not_posted_late(
        emulators: RunningEmulators, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bluesky_module, "REPLY_READS_SECONDS", BUDGET)
    post, client = _send(emulators, request_timeout_seconds=5.0)
    answer = BlueskyEmulator.__call__

    def slow_handles(self: BlueskyEmulator, request: Request) -> Response:
        if "resolveHandle" in request.path:
            time.sleep(0.3)  # each answered in time, all of them together not
        return answer(self, request)

    monkeypatch.setattr(BlueskyEmulator, "__call__", slow_handles)
    _gives_up_before_posting(client, post, emulators)

    monkeypatch.setattr(BlueskyEmulator, "__call__", answer)  # Bluesky is quick again: the retry posts once
    posted = client.reply(ReplyTarget("bluesky", post, True, raw={"uri": post}), TEXT, "k1")
    client.close()
    assert [r["uri"] for r in emulators.bluesky.replies_to(post)] == [posted.external_id]


def test_retried_reads_stop_at_the_budget_and_the_reply_is_not_posted_late(
        emulators: RunningEmulators, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bluesky_module, "REPLY_READS_SECONDS", BUDGET)
    post, client = _send(emulators, max_retries=3, retry_backoff_seconds=0.2)  # waits 0.2, 0.4, 0.8 s
    emulators.bluesky.inject("server_error", times=3, status=502, path_contains="resolveHandle")
    _gives_up_before_posting(client, post, emulators)
    client.close()
