"""Two processes sent the same alert twice: a claim older than its lease (2 × timeout_seconds per recipient + 60 s)
was taken for one a crashed process left, while apprise gives each recipient up to its own 60 s deadline, retries and
waits (``?retry=2&wait=20``) included. A chat server that answered slowly with errors kept the sender on a
two-channel target for ~116 s, and at 100 s a second process took the alert over and paged both channels again.
The claim is now renewed before each recipient and lasts longer than apprise gives one, so only a process that
stopped sending loses it. Time here is the engines' clock; the chat server holds each post until it is let answer."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler

import pytest

from monitor.alerts.engine import AlertEngine
from monitor.alerts.receiver import Receiver
from monitor.storage import Database
from tests.test_alerts import START, Clock, add_brand, add_mentions, events, settings, target

ALERTS = settings(delivery={"timeout_seconds": 10})  # long enough for a held post to be let answer
SECOND_PROCESS_POLLS = 2.5  # seconds: an idle worker looks for due and stale claims every second
# The first process, on its own clock (stopped at START), claims the alert; it is killed mid-send.
FIRST_PROCESS = """
import sys, time
from monitor.alerts.engine import AlertEngine
from monitor.storage import Database
from tests.test_alerts import START, target
from tests.test_alerts_claim_holds_while_the_sender_goes_through_its_recipients import ALERTS
engine = AlertEngine(Database.open(sys.argv[1]), ALERTS, [target("team", sys.argv[2])], lambda: START).start()
time.sleep(600)
"""


class HoldingReceiver(Receiver):
    """A Mattermost-style chat server that, while ``holding``, holds each post until the test lets it answer."""

    def __init__(self) -> None:
        self.holding, self.posts = True, 0
        self._held: list[threading.Event] = []
        super().__init__()

    def let_answer(self) -> None:
        """Answer the posts held so far."""
        with self._changed:
            for post in self._held:
                post.set()

    def wait_for_posts(self, count: int, timeout: float = 10.0) -> int:
        deadline = time.monotonic() + timeout
        with self._changed:
            while self.posts < count and (left := deadline - time.monotonic()) > 0:
                self._changed.wait(left)
            return self.posts

    def stop(self) -> None:
        super().stop()
        self.let_answer()  # posts still held are left unanswered

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver, accepting = self, super()._handler()

        class Handler(accepting):  # type: ignore[valid-type,misc]
            def do_POST(self) -> None:
                answer = threading.Event()
                with receiver._changed:
                    receiver.posts += 1
                    if receiver.holding:
                        receiver._held.append(answer)
                    else:
                        answer.set()
                    receiver._changed.notify_all()
                answer.wait()
                if not receiver._stopping.is_set():
                    super().do_POST()

        return Handler


@pytest.fixture
def chat() -> Iterator[HoldingReceiver]:
    with HoldingReceiver() as receiver:
        yield receiver


def channels(receiver: Receiver) -> Counter[str]:
    return Counter(r.payload["channel"] for r in receiver.received)


def test_a_second_process_leaves_an_alert_alone_while_the_first_sends_it_to_channel_after_channel(
        db: Database, chat: HoldingReceiver) -> None:
    brand, clock = add_brand(db), Clock()
    team = [target("team", chat.mattermost_url() + "?channels=care,oncall")]
    with AlertEngine(db, ALERTS, team, clock) as first:
        lease = first.workers[0].lease
        first.on_new_mentions(add_mentions(db, brand, text="I want a refund now"))
        assert chat.wait_for_posts(1) == 1  # to 'care'
        with AlertEngine(db, ALERTS, team, clock) as second:
            clock.advance(seconds=lease.total_seconds() - 1)  # 'care' answered just within the lease
            chat.let_answer()
            assert chat.wait_for_posts(2) == 2  # to 'oncall'
            clock.advance(seconds=lease.total_seconds() - 1)  # past the lease of the claim as first made
            time.sleep(SECOND_PROCESS_POLLS)
            assert chat.posts == 2, "the second process sent the alert the first is still sending"
            chat.let_answer()
            assert first.drain(10) and second.drain(10)
    assert channels(chat) == {"care": 1, "oncall": 1}
    [event] = events(db)
    assert (event.status, event.attempts, event.error) == ("sent", 1, None)


def test_an_alert_a_killed_process_was_sending_is_taken_over_once_its_claim_runs_out(
        db: Database, database_url: str, chat: HoldingReceiver) -> None:
    brand, clock = add_brand(db), Clock(START)
    url = chat.mattermost_url() + "?channels=care,oncall"
    AlertEngine(db, ALERTS, [target("team", url)], clock).on_new_mentions(add_mentions(db, brand, text="refund now"))
    first = subprocess.Popen([sys.executable, "-c", FIRST_PROCESS, database_url, url])
    try:
        assert chat.wait_for_posts(1, timeout=60) == 1  # to 'care', killed before the chat took it
    finally:
        first.kill()
        first.wait()
    chat.holding = False
    with AlertEngine(db, ALERTS, [target("team", url)], clock) as second:
        lease = second.workers[0].lease
        clock.advance(seconds=lease.total_seconds() - 1)
        time.sleep(SECOND_PROCESS_POLLS)
        assert ([e.status for e in events(db)], chat.posts) == (["sending"], 1), "taken over before its claim ran out"
        clock.advance(seconds=2)
        assert second.drain(10)
    assert channels(chat) == {"care": 1, "oncall": 1}
    [event] = events(db)
    assert (event.status, event.attempts, event.error) == ("sent", 2, None)
