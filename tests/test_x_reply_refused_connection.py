"""A reply that provably never reached X (the connection was refused, the name did not resolve) is a plain,
retryable ConnectorError: nothing was posted. One that may have reached X (reset or cut off after
connecting) stays DeliveryUnknown, for a person to check: a retry must never post it twice."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from connectors.base import ConnectorError, DeliveryUnknown, ReplyTarget
from connectors.emulators import DEMO_SECRETS, RunningEmulators
from connectors.x import XConnector, XSettings
from tests.fault_tools import TcpProxy, host_port, read_request_then_reset

TEXT = "Sorry about that, DM us your order number"


def _x_at(url: str, **settings: object) -> XConnector:
    options = {"request_timeout_seconds": 2.0, "max_retries": 0, **settings}
    return XConnector(XSettings(api_base_url=url, **options), dict(DEMO_SECRETS["x"]))


def _closed_port() -> int:
    """A local port nothing listens on: connecting to it is refused."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        return listener.getsockname()[1]


@pytest.mark.parametrize("max_retries", [0, 2])
def test_a_refused_connection_is_retryable_and_the_retry_posts_once(emulators: RunningEmulators,
                                                                    max_retries: int) -> None:
    post = emulators.x.add_post("@orbisto my refund never came", username="refund_rita")
    target = ReplyTarget("x", post, replyable=True)
    down = _x_at(f"http://127.0.0.1:{_closed_port()}", max_retries=max_retries, retry_backoff_seconds=0.01)
    with pytest.raises(ConnectorError, match="refused.*nothing was posted") as caught:
        down.reply(target, TEXT, "key-1")
    assert not isinstance(caught.value, DeliveryUnknown)
    assert emulators.x.replies_to(post) == []
    down.close()
    # X is back: the retry the poller makes posts the reply, once.
    up = _x_at(emulators.x_url)
    up.reply(target, TEXT, "key-1")
    assert [r["text"] for r in emulators.x.replies_to(post)] == [TEXT]
    up.close()


def test_a_name_that_does_not_resolve_is_retryable(emulators: RunningEmulators,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    real = socket.getaddrinfo

    def getaddrinfo(host: object, *args: object, **kwargs: object) -> object:
        if host == "api.x-outage.invalid":
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    post = emulators.x.add_post("@orbisto hello?", username="dns_dan")
    connector = _x_at("http://api.x-outage.invalid:8080")
    with pytest.raises(ConnectorError, match="did not resolve.*nothing was posted") as caught:
        connector.reply(ReplyTarget("x", post, replyable=True), TEXT, "key-2")
    assert not isinstance(caught.value, DeliveryUnknown)
    connector.close()


def test_a_connection_reset_after_connecting_stays_delivery_unknown(emulators: RunningEmulators) -> None:
    post = emulators.x.add_post("@orbisto where is my parcel", username="parcel_pat")
    with TcpProxy(*host_port(emulators.x_url)) as proxy:
        connector = _x_at(f"http://127.0.0.1:{proxy.port}", request_timeout_seconds=10.0)
        proxy.blackhole(requests=False, responses=True)  # X gets the post; then the connection is reset

        def reset_once_posted() -> None:
            deadline = time.monotonic() + 5
            while not emulators.x.replies_to(post) and time.monotonic() < deadline:
                time.sleep(0.02)
            proxy.down()

        resetter = threading.Thread(target=reset_once_posted, daemon=True)
        resetter.start()
        with pytest.raises(DeliveryUnknown, match="check the thread"):
            connector.reply(ReplyTarget("x", post, replyable=True), TEXT, "key-3")
        resetter.join(5)
        connector.close()
    assert len(emulators.x.replies_to(post)) == 1  # it did post: a retry would have posted it twice


def test_a_request_read_then_reset_stays_delivery_unknown(emulators: RunningEmulators) -> None:
    """A server that takes the request and resets the connection instead of answering: the request went
    out (as far as the client can tell, X may have acted on it), so it is not a "nothing was posted"."""
    post = emulators.x.add_post("@orbisto the app crashed", username="crash_cam")
    listener = socket.create_server(("127.0.0.1", 0))

    def take_request_then_reset() -> None:
        conn, _ = listener.accept()
        read_request_then_reset(conn)

    server = threading.Thread(target=take_request_then_reset, daemon=True)
    server.start()
    connector = _x_at(f"http://127.0.0.1:{listener.getsockname()[1]}")
    with pytest.raises(DeliveryUnknown, match="check the thread"):
        connector.reply(ReplyTarget("x", post, replyable=True), TEXT, "key-4")
    server.join(5)
    listener.close()
    connector.close()
