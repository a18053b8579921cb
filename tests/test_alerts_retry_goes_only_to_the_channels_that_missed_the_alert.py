"""A target URL naming several channels (Mattermost ?channels=, Slack #a/#b, Telegram chats, mail recipients) was
sent as one notification: when one channel failed, the retry sent the alert to every channel again, so the ones that
had it were paged once per attempt, and with a channel that always refuses (archived, the bot removed) the event
ended 'failed' though people had been told. Each channel is now sent to, and retried, on its own."""

from __future__ import annotations

import io
import json
from collections import Counter
from http.server import BaseHTTPRequestHandler

import pytest

from monitor.alerts.delivery import Sender
from monitor.alerts.engine import AlertEngine
from monitor.alerts.receiver import Receiver
from monitor.alerts.records import alert_summary
from monitor.storage import Database
from tests.test_alerts import Clock, add_brand, add_mentions, events, settings, target


class ChannelRefusingReceiver(Receiver):
    """A Mattermost-style receiver that answers 403 for one channel, as for an archived one."""

    def __init__(self, refused: str) -> None:
        self.refused, self.refusals = refused, 0
        super().__init__()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver, accepting = self, super()._handler()

        class Handler(accepting):  # type: ignore[valid-type,misc]
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if json.loads(body).get("channel") == receiver.refused:
                    receiver.refusals += 1
                    self._reply(403, b'{"message": "channel archived"}')
                    return
                self.rfile = io.BytesIO(body)
                super().do_POST()

        return Handler


def channels(receiver: Receiver) -> Counter[str]:
    return Counter(r.payload["channel"] for r in receiver.received)


def test_a_channel_that_failed_once_gets_the_retry_and_the_other_channel_the_alert_once(db: Database) -> None:
    brand, clock = add_brand(db), Clock()
    with Receiver(fail_first=1) as receiver:  # the first post answers 500: to 'care' (apprise sorts the channels)
        team = target("team", receiver.mattermost_url() + "?channels=oncall,care")
        with AlertEngine(db, settings(), [team], clock) as engine:
            engine.on_new_mentions(add_mentions(db, brand, text="I want a refund now"))
            assert engine.drain(10)
            [event] = events(db)
            assert event.status == "pending"
            assert event.error == "delivered to oncall; not to care (HTTP 500 from the target)"
            clock.advance(minutes=5)  # past the back-off
            assert engine.drain(10)
        receiver.wait_for(3, timeout=1)
    assert channels(receiver) == {"oncall": 1, "care": 1}
    [event] = events(db)
    assert (event.status, event.attempts, event.error) == ("sent", 2, None)


def test_a_channel_that_always_refuses_leaves_the_alert_sent_once_to_the_others_and_names_it(db: Database) -> None:
    brand, clock = add_brand(db), Clock()
    with ChannelRefusingReceiver("archived") as receiver:
        team = target("team", receiver.mattermost_url() + "?channels=care,archived")
        with AlertEngine(db, settings(), [team], clock) as engine:
            engine.on_new_mentions(add_mentions(db, brand, text="this is a scam"))
            for _ in range(4):  # max_attempts is 3
                assert engine.drain(10)
                clock.advance(minutes=5)
    assert channels(receiver) == {"care": 1} and receiver.refusals == 3
    [event] = events(db)
    assert (event.status, event.attempts) == ("sent", 3), "people were told: not 'failed'"
    assert event.error == "delivered to care; not to archived (HTTP 403 from the target)"
    assert alert_summary(db, clock(), targets=["team"]).failing_targets == ["team"]


def test_a_mention_joining_while_a_channel_is_retried_reaches_the_channel_that_had_the_alert(db: Database) -> None:
    brand, clock = add_brand(db), Clock()
    with ChannelRefusingReceiver("archived") as receiver:
        team = target("team", receiver.mattermost_url() + "?channels=care,archived")
        with AlertEngine(db, settings(), [team], clock) as engine:
            first = add_mentions(db, brand, text="I want a refund now", author_handle="annie")
            engine.on_new_mentions(first)
            assert engine.drain(10)
            clock.advance(seconds=10)
            later = add_mentions(db, brand, text="this is a scam", author_handle="bobby")
            assert engine.on_new_mentions(later) == 1  # joins the alert waiting to retry
            clock.advance(minutes=5)
            assert engine.drain(10)
    [had_first, had_later] = [r.body for r in receiver.received]
    assert "annie" in had_first and "bobby" not in had_first
    assert "bobby" in had_later and "annie" not in had_later, "only what care had not had"
    [event] = events(db)
    assert (event.status, event.mention_ids) == ("pending", first + later)


@pytest.mark.parametrize(("url", "recipients"), [
    ("slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ/#care/#oncall", ["#care", "#oncall"]),
    ("tgram://123456789:abcdefg_hijklmnop/1111/2222", ["1111", "2222"]),
    ("mailto://user:pass@example.com?to=ann@example.com,bob@example.com", ["ann@example.com", "bob@example.com"]),
    ("rocket://user:pass@chat.example.com/#care/#oncall", ["#care", "#oncall"]),
    # One request for all its devices: delivered to all or none, so there is nothing to tell apart.
    ("pover://userkey@apptoken/phone/tablet", ["team"]),
    ("json://127.0.0.1:9/alerts", ["team"]),
])
def test_each_channel_chat_or_address_a_url_names_is_sent_to_on_its_own(url: str, recipients: list[str]) -> None:
    assert Sender(target("team", url), 10).recipients == recipients
