"""The brand name in an alert's title is escaped like the body where apprise puts the title into the message text
(Discord, Mattermost, Telegram, Google Chat, Rocket.Chat have no title field), and stays plain where the service
shows a title of its own (Slack's attachment title, an email subject, a Zulip topic, the JSON webhook's field).
Until 2026-12-07 a brand named ``[Acme](https://evil.example/login)`` became a hidden link in Discord and
Mattermost, ``E*TRADE *Pro*`` turned italic, and ``Toys <R> Us`` lost its ``<R>`` on Telegram."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from monitor.alerts.engine import AlertEngine
from monitor.alerts.receiver import Receiver
from monitor.storage import Database
from tests.test_alerts import Clock, add_brand, add_mentions, settings, target

BRANDS = {  # brand name: its title line as Markdown, as Telegram's HTML
    "[Acme](https://evil.example/login)": (r"Urgent mention of \[Acme\]\(https://evil\.example/login\)",
                                           "<b>Urgent mention of [Acme](https://evil.example/login)</b>"),
    "E*TRADE *Pro*": (r"Urgent mention of E\*TRADE \*Pro\*", "<b>Urgent mention of E*TRADE *Pro*</b>"),
    "Toys <R> Us": (r"Urgent mention of Toys \<R\> Us", "<b>Urgent mention of Toys &lt;R&gt; Us</b>"),
}
TELEGRAM = "tgram://123456789:abcdefghijklmnopqrstuvwxyzABCDEFG/-1001234567"
SLACK = "https://hooks.slack.com/services/T0000A/B0000B/abcdefghijklmnopqrstuvwx"


@pytest.fixture
def payloads(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """What apprise posts to services whose hosts are fixed (Discord, Telegram, Slack): no local receiver can
    stand in for them. Posts to the local receiver go through."""
    posted: list[dict[str, Any]] = []
    local_post = requests.post

    def post(url: str, data: Any = None, **options: Any) -> requests.Response:
        if url.startswith("http://127.0.0.1:"):
            return local_post(url, data=data, **options)
        posted.append(json.loads(data))
        response = requests.Response()
        response.status_code = 200
        response._content = b"ok" if "slack" in url else b'{"ok": true, "result": {"message_id": 1}}'
        return response

    monkeypatch.setattr(requests, "post", post)
    monkeypatch.setattr(requests, "request", lambda method, url, **options: post(url, **options))  # Slack's way
    return posted


def _urgent_mention_of(db: Database, brand_name: str) -> list[int]:
    return add_mentions(db, add_brand(db, name=brand_name), text="I want a refund", author_handle="bob")


@pytest.mark.parametrize("brand_name", sorted(BRANDS))
def test_discord_mattermost_and_telegram_get_the_brand_in_the_title_escaped(
        sqlite_db: Database, payloads: list[dict[str, Any]], brand_name: str) -> None:
    urgent = _urgent_mention_of(sqlite_db, brand_name)
    with Receiver() as receiver:
        targets = [target("discord", "discord://1234567890/abcdefTOKEN"), target("team", receiver.mattermost_url()),
                   target("telegram", TELEGRAM)]
        with AlertEngine(sqlite_db, settings(), targets, Clock()) as engine:
            engine.on_new_mentions(urgent)
            assert engine.drain(10)
        [mattermost] = receiver.wait_for(1)
    [discord] = [p["content"] for p in payloads if "content" in p]
    [telegram] = [p["text"] for p in payloads if "text" in p]
    markdown, telegram_html = BRANDS[brand_name]
    assert discord.split("\r\n")[0] == markdown
    assert mattermost.title == markdown
    assert telegram.split("\r\n")[0] == telegram_html


@pytest.mark.parametrize("brand_name", sorted(BRANDS))
def test_a_service_with_a_title_of_its_own_shows_the_brand_as_it_is(
        sqlite_db: Database, payloads: list[dict[str, Any]], brand_name: str) -> None:
    urgent = _urgent_mention_of(sqlite_db, brand_name)
    with Receiver() as receiver:
        with AlertEngine(sqlite_db, settings(), [target("slack", SLACK), target("hook", receiver.json_url())],
                         Clock()) as engine:
            engine.on_new_mentions(urgent)
            assert engine.drain(10)
        [hook] = receiver.wait_for(1)
    [slack] = payloads
    assert hook.title == f"Urgent mention of {brand_name}"
    # Slack shows its attachment title as plain text, with &, < and > written as entities (apprise does that).
    plain = f"Urgent mention of {brand_name}"
    assert slack["attachments"][0]["title"] == plain.replace("<", "&lt;").replace(">", "&gt;")
