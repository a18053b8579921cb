"""An alert fits the chat service's length limit (apprise's ``body_maxlen``): it lists fewer items and counts the
rest, so one message arrives with the most pressing ones. Until 2026-12-07 a grouped urgent alert of 4 mentions
(2,078 characters) or a digest of 5 top items went to Discord whole, Discord answered 400 to every retry, and the
alert ended ``failed``. Real apprise plugin code builds every request; only the service at the end is stood in for
(its webhook hosts are fixed), or is the local receiver."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from typing import Any, NamedTuple
from urllib.parse import urlsplit

import pytest
import requests

from monitor.alerts.delivery import Sender
from monitor.alerts.engine import AlertEngine
from monitor.alerts.format import Item, render
from monitor.alerts.receiver import Receiver
from monitor.storage import Database
from tests.test_alerts import Clock, add_brand, add_mentions, events, settings, target

DISCORD = "discord://1234567890/abcdefTOKEN"
TELEGRAM = "tgram://123456789:abcdefghijklmnopqrstuvwxyzABCDEFG/-1001234567"
SMS = "twilio://AC1234567890abcdef1234567890abcd:abcdef1234567890abcdef1234567890@+15551234567/+15557654321"
COMPLAINT = ("My account was hacked and @AcmeSupport still hasn't replied after 3 days. I want a refund - this is "
             "fraud. Lawyer is next. Order #12345, ticket #67890... (see screenshot!) Seriously, nobody answers the "
             "phone, the chat bot loops, and the e-mail bounces. Worst service ever; never again. Avoid!!! 😡😡")
DIGEST = {"day": "2026-03-02", "total": 412, "negative": 97, "unanswered": 31, "alerts_sent": 4,
          "alerts_suppressed": 1, "alerts_failed": 0}


class Post(NamedTuple):
    host: str
    text: str


# Where each stood-in service keeps the message text, and the most it takes (it answers 400 to more).
SERVICES = {"discord.com": ("content", 2000), "api.telegram.org": ("text", 4096), "api.twilio.com": ("Body", 1600)}


@pytest.fixture
def chat_posts(monkeypatch: pytest.MonkeyPatch) -> list[Post]:
    posts: list[Post] = []

    def post(url: str, data: Any = None, **_: Any) -> requests.Response:
        host = urlsplit(url).hostname or ""
        field, limit = SERVICES[host]
        text = (data if isinstance(data, dict) else json.loads(data))[field]
        posts.append(Post(host, text))
        response = requests.Response()
        response.status_code = 200 if len(text) <= limit else 400
        response._content = json.dumps({"ok": True, "result": {"message_id": 1}, "sid": "SM1"}).encode()
        return response

    monkeypatch.setattr(requests, "post", post)
    return posts


def _items(count: int, text: str = COMPLAINT) -> list[Item]:
    return [Item(id=n, platform="x", author_handle=f"customer_{n}", author_followers=12_000, text=text,
                 url=f"https://x.example/customer_{n}/status/{n}", sentiment_label="negative", sentiment_score=0.91,
                 priority=99.0 - n, created_at=datetime(2026, 3, 2, 11, tzinfo=timezone.utc), why="keyword refund")
            for n in range(1, count + 1)]


def _listed(text: str) -> list[str]:
    return re.findall(r"customer\\?_(\d+)\*\*", text)


def test_a_grouped_urgent_alert_to_discord_arrives_as_one_message_within_2000_characters(
        sqlite_db: Database, chat_posts: list[Post]) -> None:
    brand = add_brand(sqlite_db)
    urgent = [mention for n in range(10) for mention in add_mentions(
        sqlite_db, brand, text=COMPLAINT, author_handle=f"customer_{n}", author_followers=12_000, priority=95 - n)]
    with AlertEngine(sqlite_db, settings(), [target("team", DISCORD)], Clock()) as engine:
        engine.on_new_mentions(urgent)
        assert engine.drain(10)
    [sent] = chat_posts
    assert len(sent.text) <= 2000
    assert [e.status for e in events(sqlite_db)] == ["sent"]
    assert sent.text.startswith("Urgent: 10 mentions of Acme\r\n")
    listed = _listed(sent.text)
    assert listed == [str(n) for n in range(len(listed))] and len(listed) >= 2  # the most pressing first
    assert sent.text.endswith(f"…and {10 - len(listed)} more in the dashboard\\.")


def test_a_grouped_urgent_alert_to_a_mattermost_server_fits_its_4000_characters(sqlite_db: Database) -> None:
    brand = add_brand(sqlite_db)
    urgent = add_mentions(sqlite_db, brand, 10, text=COMPLAINT, author_handle="customer", author_followers=12_000)
    with Receiver() as receiver:
        with AlertEngine(sqlite_db, settings(), [target("team", receiver.mattermost_url())], Clock()) as engine:
            engine.on_new_mentions(urgent)
            assert engine.drain(10)
        [got] = receiver.wait_for(1)
    assert len(got.payload["text"]) <= 4000
    assert got.title == "Urgent: 10 mentions of Acme" and re.search(r"…and \d more in the dashboard\\\.$", got.body)


@pytest.mark.parametrize(("url", "excerpt_chars"), [(DISCORD, 280), (TELEGRAM, 400), (TELEGRAM, 2000)])
@pytest.mark.parametrize(("rule", "details"), [("digest", DIGEST), ("sla", {"response_minutes": 60})])
def test_the_digest_and_sla_warnings_fit_too(chat_posts: list[Post], url: str, excerpt_chars: int, rule: str,
                                             details: dict[str, Any]) -> None:
    sender = Sender(target("team", url), 10)
    message = render(rule, "Acme", _items(10), details, sender.style(settings(excerpt_chars=excerpt_chars)))
    assert sender.send_each(sender.recipients, message.title, message.body, "info") == {}
    [sent] = chat_posts
    assert len(sent.text) <= SERVICES[sent.host][1]
    assert "more in the dashboard" in sent.text


def test_one_item_too_long_for_the_service_is_shown_with_a_shorter_excerpt(chat_posts: list[Post]) -> None:
    sender = Sender(target("team", DISCORD), 10)
    message = render("urgent", "Acme", _items(3, text=COMPLAINT * 7), {}, sender.style(settings(excerpt_chars=2000)))
    [excerpt] = [line for line in message.body.splitlines() if line.startswith("> ")]
    assert excerpt.endswith("…") and len(excerpt) < 1500 and sender.fits(message)  # 1,000 characters, escaped
    assert message.body.endswith("…and 2 more in the dashboard\\.")


def test_a_text_message_service_gets_at_most_its_160_characters(chat_posts: list[Post]) -> None:
    sender = Sender(target("phone", SMS), 10)
    message = render("urgent", "Acme", _items(3), {}, sender.style(settings()))
    assert sender.send_each(sender.recipients, message.title, message.body, "critical") == {}
    [sent] = chat_posts
    assert len(sent.text) <= 160 and sent.text.startswith("Urgent: 3 mentions of Acme")


def test_an_overflow_chosen_in_the_url_is_kept(chat_posts: list[Post]) -> None:
    sender = Sender(target("team", DISCORD + "?overflow=split"), 10)
    message = render("urgent", "Acme", _items(10), {}, sender.style(settings()))
    assert sender.send_each(sender.recipients, message.title, message.body, "critical") == {}
    assert len(chat_posts) > 1 and all(len(sent.text) <= 2000 for sent in chat_posts)
    assert _listed("".join(sent.text for sent in chat_posts)) == [str(n) for n in range(1, 11)]


@pytest.mark.parametrize(("url", "limit"), [("workflows://prod-01.westus.logic.azure.com:443/abcdef0123/sig123", 8_000),
                                            ("rocket://user:pass@chat.example.com/#care", 5_000)])
def test_teams_and_rocket_chat_take_a_whole_grouped_alert_not_apprises_1000_characters(url: str, limit: int) -> None:
    # apprise declares 1,000 characters for both; Teams takes a 28 KB card and Rocket.Chat 5,000 characters.
    sender = Sender(target("team", url), 10)
    message = render("urgent", "Acme", _items(10), {}, sender.style(settings()))
    assert sender.fits(message) and len(message.body) <= limit
    listed = _listed(message.body)
    assert listed == [str(n) for n in range(1, len(listed) + 1)] and len(listed) >= 9  # apprise's 1,000: 1 of 10
