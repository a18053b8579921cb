"""A Bluesky reply whose post cannot connect (a route dropping packets) stops trying to connect at the reply's
deadline (REPLY_READS_SECONDS after its send began, which already bounds its reads and the start of its post), and
nothing is posted when the route comes back. The SDK's transport retried a connection never made max_retries times,
each up to request_timeout_seconds: at 120 s and max_retries = 3 the post went out about 10 minutes after the send
began (monitor.replies.SENDER_GONE_AFTER), when a person may have marked the reply not posted and sent it again.
Connects that fail before the deadline are still retried: nothing was sent.

Scaled as in the Reddit/X/Mastodon case: a request timeout of 1 s stands for 120 s, a deadline of 3 s for its
120 s."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from connectors import bluesky as bluesky_module
from connectors.base import ConnectorError, DeliveryUnknown, ReplyTarget
from connectors.bluesky import BlueskyConnector, BlueskySettings
from connectors.emulators import DEMO_BLUESKY_HANDLE, DEMO_SECRETS, RunningEmulators
from connectors.emulators.bluesky_api import BlueskyEmulator
from connectors.emulators.server import Request, Response
from tests.fault_tools import host_port
from tests.more_sources_fixtures import RouteThatGoesDown
from tests.test_reply_that_cannot_connect_gives_up_before_a_person_may_send_it_again import (
    DEADLINE,
    TEXT,
    TIMING,
)


def _send_while_the_post_cannot_connect(emulators: RunningEmulators, monkeypatch: pytest.MonkeyPatch, key: str,
                                        restore_after: float) -> tuple[str, dict[str, Any]]:
    """Reply to a new post; once Bluesky has answered the reply's read of the post (and closed that connection),
    its route drops packets, and comes back ``restore_after`` seconds after the send began. The post and the
    send's outcome ("posted" or "error", and the "seconds" it took)."""
    post = emulators.bluesky.add_post(f"@{DEMO_BLUESKY_HANDLE} charged twice", handle="ana.bsky.social")
    route = RouteThatGoesDown(host_port(emulators.bluesky_url))
    connector = BlueskyConnector(BlueskySettings(api_base_url=f"http://127.0.0.1:{route.port}", **TIMING),
                                 dict(DEMO_SECRETS["bluesky"]))
    connector._login()
    answer = BlueskyEmulator.__call__

    def route_down_after_reading_the_post(self: BlueskyEmulator, request: Request) -> Response:
        response = answer(self, request)
        if "getPosts" in request.path:
            route.go_down()
            response.headers["Connection"] = "close"  # the post needs a new connection
        return response

    monkeypatch.setattr(BlueskyEmulator, "__call__", route_down_after_reading_the_post)
    outcome: dict[str, Any] = {}

    def send() -> None:
        started = time.monotonic()
        try:
            outcome["posted"] = connector.reply(ReplyTarget("bluesky", post, True, raw={"uri": post}), TEXT, key)
        except ConnectorError as exc:
            outcome["error"] = exc
        outcome["seconds"] = time.monotonic() - started

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    sender.join(restore_after)
    route.restore()
    sender.join(60)
    monkeypatch.setattr(BlueskyEmulator, "__call__", answer)
    connector.close()
    route.close()
    return post, outcome


def test_a_bluesky_reply_that_cannot_connect_gives_up_in_time_and_never_posts_late(
        emulators: RunningEmulators, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bluesky_module, "REPLY_READS_SECONDS", DEADLINE)

    # The route comes back before the deadline: the post's connects are retried, and the reply posts once.
    post, outcome = _send_while_the_post_cannot_connect(emulators, monkeypatch, "key-back-in-time", 1.5)
    assert "posted" in outcome, outcome
    assert [r["uri"] for r in emulators.bluesky.replies_to(post)] == [outcome["posted"].external_id]

    # It stays down past the deadline and the last connect: the send gives up, as a connection never made...
    post, outcome = _send_while_the_post_cannot_connect(emulators, monkeypatch, "key-down-too-long", DEADLINE + 2)
    assert "error" in outcome, f"posted after the route came back, {outcome['seconds']:.1f} s after the send began"
    assert outcome["seconds"] < DEADLINE + 1 + 0.5
    assert not isinstance(outcome["error"], DeliveryUnknown)
    assert "nothing was posted" in str(outcome["error"])
    # ...and nothing turns up once the route is back, when a person may send it again.
    time.sleep(1)
    assert emulators.bluesky.replies_to(post) == []
