"""A reply whose connects time out (a route dropping packets) stops trying to connect REPLY_CONNECT_SECONDS after
its send began, and nothing is posted when the route comes back. A person may mark a reply still sending after
monitor.replies.SENDER_GONE_AFTER (10 minutes) not posted and send it again, but the retried connects went on far
longer: on Reddit 3 prawcore tries of max_retries + 1 urllib3 connects (24 minutes at request_timeout_seconds =
120), on X and Mastodon max_retries + 1 connects; the first send then connected late and posted a second answer.
Connects that fail before the deadline are still retried: nothing was sent.

Scaled: a request timeout of 1 s stands for 120 s, a deadline of 3 s for its 120 s (one more connect attempt and
the back-offs fit in it)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, NamedTuple

import pytest

from connectors import _http
from connectors.base import Connector, ConnectorError, DeliveryUnknown, ReplyTarget
from connectors.emulators import DEMO_SECRETS, RunningEmulators
from connectors.mastodon import MastodonConnector, MastodonSettings
from connectors.reddit import RedditConnector, RedditSettings
from connectors.x import XConnector, XSettings
from tests.fault_tools import host_port
from tests.more_sources_fixtures import RouteThatGoesDown

DEADLINE = 3.0
# Enough retries to keep connecting for 10 s and more without the deadline, as max_retries = 6 at 120 s would.
TIMING = {"request_timeout_seconds": 1.0, "max_retries": 6, "retry_backoff_seconds": 0.1}
TEXT = "Sorry about that, DM us your order number"


class Platform(NamedTuple):
    connector: Callable[[RunningEmulators, str], Connector]  # the connector whose API is at the URL
    api_url: Callable[[RunningEmulators], str]
    post: Callable[[RunningEmulators], ReplyTarget]  # a new post to answer
    replies_to: Callable[[RunningEmulators, str], list[Any]]


PLATFORMS = {
    # Reddit signs in at reddit_url, which stays reachable: what times out is the reply's own POST.
    "reddit": Platform(
        lambda running, url: RedditConnector(RedditSettings(oauth_url=url, reddit_url=running.reddit_url, **TIMING),
                                             dict(DEMO_SECRETS["reddit"])),
        lambda running: running.reddit_url,
        lambda running: ReplyTarget("reddit", running.reddit.add_comment("u/orbisto_support charged twice",
                                                                         subreddit="india"), replyable=True),
        lambda running, post: running.reddit.replies_to(post)),
    "x": Platform(
        lambda running, url: XConnector(XSettings(api_base_url=url, **TIMING), dict(DEMO_SECRETS["x"])),
        lambda running: running.x_url,
        lambda running: ReplyTarget("x", running.x.add_post("@orbisto charged twice", username="twice_tom"),
                                    replyable=True),
        lambda running, post: running.x.replies_to(post)),
    "mastodon": Platform(
        lambda running, url: MastodonConnector(MastodonSettings(api_base_url=url, **TIMING),
                                               dict(DEMO_SECRETS["mastodon"])),
        lambda running: running.mastodon_url,
        lambda running: ReplyTarget("mastodon", running.mastodon.add_status("@orbisto charged twice"), True,
                                    raw={"acct": "casual", "visibility": "public"}),
        lambda running, post: running.mastodon.replies_to(post)),
}


def _send_while_unreachable(emulators: RunningEmulators, platform: Platform, key: str,
                            restore_after: float | None) -> tuple[ReplyTarget, dict[str, Any], float]:
    """Send a reply to a new post while its API cannot be connected to; the route comes back ``restore_after``
    seconds later (None: only once the send has had the deadline, a connect and the pauses between tries to
    give up). The target, the send's outcome ("posted" or "error") and the seconds it took."""
    target = platform.post(emulators)
    route = RouteThatGoesDown(host_port(platform.api_url(emulators)))
    route.go_down()
    connector = platform.connector(emulators, f"http://127.0.0.1:{route.port}")
    outcome: dict[str, Any] = {}

    def send() -> None:
        started = time.monotonic()
        try:
            outcome["posted"] = connector.reply(target, TEXT, key)
        except ConnectorError as exc:
            outcome["error"] = exc
        outcome["seconds"] = time.monotonic() - started

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    # Reddit's last connect ends by DEADLINE + 1 s, then prawcore pauses up to 2 s before a try that is refused.
    sender.join(restore_after if restore_after is not None else DEADLINE + 1 + 2 + 1)
    route.restore()
    sender.join(60)
    connector.close()
    route.close()
    return target, outcome, outcome["seconds"]


@pytest.mark.parametrize("name", PLATFORMS)
def test_a_reply_that_cannot_connect_gives_up_in_time_and_never_posts_late(
        emulators: RunningEmulators, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    monkeypatch.setattr(_http, "REPLY_CONNECT_SECONDS", DEADLINE)
    platform = PLATFORMS[name]

    # The route comes back before the deadline: the connects are retried, and the reply posts once.
    target, outcome, _ = _send_while_unreachable(emulators, platform, "key-back-in-time", restore_after=1.5)
    assert "posted" in outcome, outcome
    assert len(platform.replies_to(emulators, target.external_id)) == 1

    # It stays down past the deadline: the send gives up, as a connection never made (nothing was posted)...
    target, outcome, seconds = _send_while_unreachable(emulators, platform, "key-down-too-long", restore_after=None)
    assert "error" in outcome, f"posted after the route came back, {seconds:.1f} s after the send began"
    assert seconds < DEADLINE + 1 + 2 + 0.5
    if name != "mastodon":  # Mastodon reads every network error as one that may have posted
        assert not isinstance(outcome["error"], DeliveryUnknown)
        assert "nothing was posted" in str(outcome["error"])
    # ...and nothing turns up once the route is back, when a person may send it again.
    time.sleep(1)
    assert platform.replies_to(emulators, target.external_id) == []
