"""A Reddit reply that provably never reached Reddit (the connection was refused) is a plain, retryable
ConnectorError saying nothing was posted, as on X: it was DeliveryUnknown ("check the thread before
retrying"), so every reply during an outage waited for a person. One that may have reached Reddit (the
request went out, then the connection was reset) stays DeliveryUnknown: a retry must never post it twice."""

from __future__ import annotations

import socket
import threading

import pytest

from connectors.base import ConnectorError, DeliveryUnknown, ReplyTarget
from connectors.emulators import DEMO_SECRETS, RunningEmulators
from connectors.reddit import RedditConnector, RedditSettings
from tests.emulator_fixtures import reddit_connector
from tests.fault_tools import TcpProxy, host_port, read_request_then_reset

TEXT = "Sorry about that, DM us your order number"


def _reddit_at(oauth_url: str, reddit_url: str) -> RedditConnector:
    settings = RedditSettings(oauth_url=oauth_url, reddit_url=reddit_url, request_timeout_seconds=2, max_retries=0)
    return RedditConnector(settings, dict(DEMO_SECRETS["reddit"]))


def test_a_refused_connection_says_nothing_was_posted_and_the_retry_posts_once(emulators: RunningEmulators) -> None:
    comment = emulators.reddit.add_comment("u/orbisto_support my refund never came", subreddit="india")
    target = ReplyTarget("reddit", comment, replyable=True)
    proxy = TcpProxy(*host_port(emulators.reddit_url)).start()
    url = f"http://127.0.0.1:{proxy.port}"
    down = _reddit_at(url, url)
    down.reddit.user.me()  # signed in before the outage: what is refused is the reply's own POST
    proxy.stop()  # nothing listens there now
    with pytest.raises(ConnectorError, match="refused.*nothing was posted") as caught:
        down.reply(target, TEXT, "key-1")
    assert not isinstance(caught.value, DeliveryUnknown)
    assert emulators.reddit.replies_to(comment) == []
    down.close()
    # Reddit is back: the retry the poller makes posts the reply, once.
    up = reddit_connector(emulators)
    up.reply(target, TEXT, "key-1")
    assert [r["body"] for r in emulators.reddit.replies_to(comment)] == [TEXT]
    up.close()


def test_a_request_read_then_reset_stays_delivery_unknown(emulators: RunningEmulators) -> None:
    """A server that takes the reply and resets the connection instead of answering: the request went out
    (as far as the client can tell, Reddit may have acted on it), so it is not a "nothing was posted"."""
    comment = emulators.reddit.add_comment("u/orbisto_support the app crashed", subreddit="india")
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.05)
    requests_taken: list[bytes] = []
    done = threading.Event()

    def take_requests_then_reset() -> None:
        while not done.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            requests_taken.append(read_request_then_reset(conn))

    server = threading.Thread(target=take_requests_then_reset, daemon=True)
    server.start()
    # Signed in at the emulator; the API calls, the reply among them, go to the server that resets.
    connector = _reddit_at(f"http://127.0.0.1:{listener.getsockname()[1]}", emulators.reddit_url)
    with pytest.raises(DeliveryUnknown, match="check the thread"):
        connector.reply(ReplyTarget("reddit", comment, replyable=True), TEXT, "key-2")
    done.set()
    server.join(5)
    listener.close()
    connector.close()
    sent = [request.split(b"?")[0] for request in requests_taken]
    assert sent == [b"POST /api/comment/"]  # sent once, never again
