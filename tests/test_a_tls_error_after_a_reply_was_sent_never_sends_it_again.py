"""A reply whose answer is lost to a TLS error (a record that does not decrypt) after the platform posted it is
sent once and reported DeliveryUnknown, through praw and tweepy alike. urllib3 counts a TLS error as neither a
connect nor a read error but an "other" one, which it retried for every method: the reply was posted
max_retries + 1 times before the connector saw an error. A GET is still retried after one."""

from __future__ import annotations

import io
import os
import shutil
import socket
import ssl
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from connectors.base import DeliveryUnknown, Query, ReplyTarget
from connectors.emulators import DEMO_BRAND, DEMO_SECRETS, RunningEmulators
from connectors.emulators.server import EmulatorServer, Request, Response, _Handler
from connectors.hackernews import HackerNewsConnector, HackerNewsSettings
from connectors.reddit import RedditConnector, RedditSettings
from connectors.x import XConnector, XSettings
from tests.emulator_fixtures import FAST_RETRIES

TEXT = "Sorry about that! We've refunded the second charge."
# A TLS 1.2/1.3 application-data record of 32 random bytes: the client fails to decrypt it (an SSLError).
_UNDECRYPTABLE_RECORD = b"\x17\x03\x03\x00\x20" + os.urandom(32)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key."""
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command (Debian's openssl package) to make the HTTPS front's certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return cert, key


class _AnswerLostToTls(_Handler):
    """The emulator's handler; where the front says so, the emulator acts on the request but its answer is
    replaced by a record that does not decrypt, and the connection ends."""

    server: "_TlsFront"

    def _serve(self) -> None:
        self.server.methods.append(self.command)
        if not self.server.breaks(self.command, len(self.server.methods)):
            return super()._serve()
        self.wfile = io.BytesIO()  # the answer, never sent
        super()._serve()
        with socket.socket(fileno=os.dup(self.connection.fileno())) as raw:
            raw.sendall(_UNDECRYPTABLE_RECORD)
        self.close_connection = True

    do_GET = do_POST = do_DELETE = do_PUT = do_PATCH = _serve


class _TlsFront(EmulatorServer):
    """Serves an emulator's app over HTTPS; ``breaks(method, n)`` says whether the answer to the n-th request
    (from 1), of ``method``, is lost to a TLS error. ``methods``: the requests served, in order."""

    def __init__(self, app: Callable[[Request], Response], certificate: tuple[Path, Path],
                 breaks: Callable[[str, int], bool]) -> None:
        super().__init__(app)
        self.RequestHandlerClass = _AnswerLostToTls
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(*certificate)
        self.socket = context.wrap_socket(self.socket, server_side=True)
        self.breaks = breaks
        self.methods: list[str] = []

    @property
    def url(self) -> str:
        return "https" + super().url.removeprefix("http")


@pytest.fixture
def tls_front(certificate: tuple[Path, Path],
              monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., _TlsFront]]:
    """Starts fronts whose certificate requests trusts."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(certificate[0]))
    started: list[_TlsFront] = []

    def start(app: Callable[[Request], Response], breaks: Callable[[str, int], bool]) -> _TlsFront:
        started.append(_TlsFront(app, certificate, breaks).start())
        return started[-1]

    yield start
    for front in started:
        front.stop()


def _every_post(method: str, n: int) -> bool:
    return method == "POST"


def test_a_reddit_reply_answered_with_a_tls_error_is_posted_once(emulators: RunningEmulators,
                                                                 tls_front: Callable[..., _TlsFront]) -> None:
    front = tls_front(emulators.reddit_server.app, _every_post)
    comment = emulators.reddit.add_comment("Orbisto charged me twice, u/orbisto_support help", subreddit="india")
    # The token comes from reddit_url, without the front; the reply goes to oauth_url, through it.
    connector = RedditConnector(RedditSettings(oauth_url=front.url, reddit_url=emulators.reddit_url, **FAST_RETRIES),
                                dict(DEMO_SECRETS["reddit"]))
    with pytest.raises(DeliveryUnknown, match="SSLError.*check the thread"):
        connector.reply(ReplyTarget("reddit", comment, replyable=True), TEXT, "key-1")
    connector.close()
    assert front.methods.count("POST") == 1
    assert [r["body"] for r in emulators.reddit.replies_to(comment)] == [TEXT]


def test_an_x_reply_answered_with_a_tls_error_is_posted_once(emulators: RunningEmulators,
                                                             tls_front: Callable[..., _TlsFront]) -> None:
    front = tls_front(emulators.x_server.app, _every_post)
    post = emulators.x.add_post("@orbisto charged me twice", username="double_dora")
    connector = XConnector(XSettings(api_base_url=front.url, **FAST_RETRIES), dict(DEMO_SECRETS["x"]))
    with pytest.raises(DeliveryUnknown, match="SSLError.*check the thread"):
        connector.reply(ReplyTarget("x", post, replyable=True), TEXT, "key-1")
    connector.close()
    assert front.methods == ["POST"]
    assert [r["text"] for r in emulators.x.replies_to(post)] == [TEXT]


def test_a_search_answered_with_a_tls_error_is_retried(emulators: RunningEmulators,
                                                       tls_front: Callable[..., _TlsFront]) -> None:
    front = tls_front(emulators.hackernews_server.app, lambda method, n: n == 1)
    connector = HackerNewsConnector(HackerNewsSettings(api_base_url=front.url + "/api/v1", **FAST_RETRIES))
    result = connector.fetch(Query(key="orbisto", brand=DEMO_BRAND, keywords=(DEMO_BRAND,)), None)
    connector.close()
    assert front.methods == ["GET", "GET"] and result.mentions
