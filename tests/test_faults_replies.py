"""A reply whose answer never comes back (or comes back 5xx): it is posted once, never resent by a retry."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from connectors.base import DeliveryUnknown, ReplyTarget
from connectors.emulators import DEMO_SECRETS, RunningEmulators, start_emulators
from connectors.reddit import RedditConnector, RedditSettings
from connectors.x import XConnector, XSettings
from monitor.access import Principal, Role
from monitor.errors import ReplyStateError
from monitor.models import Mention
from monitor.poller import poll_once
from monitor.replies import draft_reply, resolve_unknown, send_reply
from monitor.storage import Database
from tests.emulator_fixtures import BACKLOG_END
from tests.fault_tools import TcpProxy, host_port, x_worker_config

AGENT = Principal("ana", Role.AGENT)


@pytest.fixture
def emulators() -> Iterator[RunningEmulators]:
    with start_emulators(seed=7, backlog=5, backlog_end=BACKLOG_END) as running:
        yield running


def _x_through(proxy: TcpProxy) -> XConnector:
    settings = XSettings(api_base_url=f"http://127.0.0.1:{proxy.port}", request_timeout_seconds=0.5, max_retries=0)
    return XConnector(settings, dict(DEMO_SECRETS["x"]))


def test_reply_sent_while_the_answer_is_lost_stays_unknown_and_is_not_posted_again(
        sqlite_db: Database, emulators: RunningEmulators) -> None:
    post = emulators.x.add_post("@orbisto my parcel is lost, order 5521", username="lost_parcel")
    url = sqlite_db.engine.url.render_as_string(hide_password=False)
    assert all(r.ok for r in poll_once(sqlite_db, x_worker_config(url, emulators.x_url)))
    with sqlite_db.read() as session:
        mention_id = session.scalar(select(Mention.id).where(Mention.external_id == post))
    assert mention_id is not None
    reply = draft_reply(sqlite_db, mention_id, "Sorry about that! Please DM us the order number.", author=AGENT)

    with TcpProxy(*host_port(emulators.x_url)) as proxy:
        connector = _x_through(proxy)
        proxy.blackhole(requests=False, responses=True)  # X gets the post; its answer is lost on the way back
        outcome = send_reply(sqlite_db, reply.id, connector, actor=AGENT)
        assert outcome.state == "sending" and "delivery unknown" in (outcome.error or "")
        assert len(emulators.x.replies_to(post)) == 1  # it did post
        proxy.restore()
        with pytest.raises(ReplyStateError, match="will not be sent again"):
            send_reply(sqlite_db, reply.id, connector, actor=AGENT)  # a retry (or a second worker) must not post
        assert len(emulators.x.replies_to(post)) == 1
        # A person looks at the thread and records what happened; the connection works again.
        posted = emulators.x.replies_to(post)[0]["id"]
        assert resolve_unknown(sqlite_db, reply.id, AGENT, posted=True, external_id=posted).state == "sent"
        follow_up = draft_reply(sqlite_db, mention_id, "We've found it: it arrives tomorrow.", author=AGENT)
        assert send_reply(sqlite_db, follow_up.id, connector, actor=AGENT).state == "sent"
        connector.close()
    assert len(emulators.x.replies_to(post)) == 2


def test_a_5xx_answer_to_a_reply_is_delivery_unknown_not_a_retryable_failure(emulators: RunningEmulators) -> None:
    post = emulators.x.add_post("@orbisto is the app down?", username="worried")
    connector = XConnector(XSettings(api_base_url=emulators.x_url, max_retries=0), dict(DEMO_SECRETS["x"]))
    emulators.x.inject("server_error", status=504, path_contains="/2/tweets")
    with pytest.raises(DeliveryUnknown, match="504"):
        connector.reply(ReplyTarget("x", post, replyable=True), "Not down, checking for you", "key-1")
    connector.close()


def test_reddit_reply_whose_answer_is_lost_is_posted_once_not_resent_by_prawcore(emulators: RunningEmulators) -> None:
    comment = emulators.reddit.add_comment("u/orbisto_support my card was charged twice", subreddit="india")
    with TcpProxy(*host_port(emulators.reddit_url)) as proxy:
        url = f"http://127.0.0.1:{proxy.port}"
        connector = RedditConnector(RedditSettings(oauth_url=url, reddit_url=url, request_timeout_seconds=0.5,
                                                   max_retries=0), dict(DEMO_SECRETS["reddit"]))
        connector.reddit.user.me()  # signed in before the cut
        proxy.blackhole(requests=False, responses=True)
        started = time.monotonic()
        with pytest.raises(DeliveryUnknown, match="no answer"):
            connector.reply(ReplyTarget("reddit", comment, replyable=True), "Sorry! Please DM us.", "key-2")
        assert time.monotonic() - started < 5, "request_timeout_seconds was not applied"
        connector.close()
    assert len(emulators.reddit.replies_to(comment)) == 1
