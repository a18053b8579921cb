"""A mention's "Original" link is untrusted: a Mastodon status URL is ``https://<instance>/@<username>/<id>``, set by
whoever runs the instance, and an RSS link is free text. Until 2026-12-07 it went into the alert as it came, and
apprise, sending Discord Markdown as an embed (``?format=markdown``), scanned the whole message for pings: a link
``https://evil.social/@everyone/110`` paged the whole server, ``/@123456789012345678/`` a user, ``@&<id>`` a role,
and an ordinary ``/@alice/`` added a stray "👉 @alice". The letter or digit after each ``@`` is now percent-encoded,
an equivalent URL that still opens the post. Apprise's own Discord plugin builds each request; it is posted to the
local receiver."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from urllib.parse import unquote

import pytest
from apprise.plugins.discord import NotifyDiscord

from monitor.alerts.engine import AlertEngine
from monitor.alerts.receiver import Receiver
from monitor.storage import Database
from tests.test_alerts import Clock, add_brand, add_mentions, settings, target

LINKS = [
    "https://evil.social/@everyone/110",
    "https://mastodon.social/@here/110",
    "https://evil.social/@123456789012345678/1",
    "https://news.example/a?ref=@&123456789012345678",
    "https://mastodon.social/@alice/110",
    "https://mastodon.social/@alice@evil.social/110",
]
# Apprise's embed mode (``format=markdown``) scans the body for pings; plain content is pinged by Discord itself.
DISCORD_MODES = ["?format=markdown", ""]


@pytest.fixture
def discord_receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[Receiver]:
    with Receiver() as receiver:
        monkeypatch.setattr(NotifyDiscord, "notify_url", f"http://127.0.0.1:{receiver.port}/api/webhooks")
        yield receiver


@pytest.mark.parametrize("mode", DISCORD_MODES)
@pytest.mark.parametrize("link", LINKS)
def test_a_link_holding_a_ping_pings_nobody_on_discord_and_still_opens_the_post(
        sqlite_db: Database, discord_receiver: Receiver, link: str, mode: str) -> None:
    urgent = add_mentions(sqlite_db, add_brand(sqlite_db), text="I want a refund", author_handle="bob", url=link)
    with AlertEngine(sqlite_db, settings(), [target("discord", "discord://1234567890/abcdefTOKEN" + mode)],
                     Clock()) as engine:
        engine.on_new_mentions(urgent)
        assert engine.drain(10)
    [posted] = discord_receiver.wait_for(1)
    payload = json.dumps(posted.payload, ensure_ascii=False)
    assert "allow_mentions" not in posted.payload and "👉" not in payload
    # What Discord, and apprise's scan, take for a ping: @everyone, @here, @<user id>, <@id>, <@&role id>.
    assert not re.search(r"@&?[a-z0-9]", payload, re.IGNORECASE), payload
    [original] = re.findall(r"\[Original\]\((\S+?)\)", payload)
    assert unquote(original) == link
