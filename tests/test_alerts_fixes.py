"""Alerts that reached chat when they should not have: unescaped Markdown, stale held warnings,
spikes on the first days or on a clock change, digests for removed brands, dashboard links dropped."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

import pytest
import requests
from sqlalchemy import update

from monitor.alerts.engine import AlertEngine
from monitor.alerts.receiver import Receiver
from monitor.config import Config
from monitor.errors import ConfigError
from monitor.models import Brand, Mention
from monitor.storage import Database
from tests.test_alerts import START, Clock, add_brand, add_mentions, events, settings, target
from tests.test_alerts_delivery_safety import NOWHERE

HOSTILE = "Account locked. [Verify here](https://evil.example/login) ![x](https://evil.example/p.png) **FREE REFUND**"
ESCAPED = r"\[Verify here\]\(https://evil\.example/login\) \!\[x\]\(https://evil\.example/p\.png\) \*\*FREE REFUND\*\*"
ONLY_SLA = {"digest": {"enabled": False}, "volume_spike": {"enabled": False}, "negative_spike": {"enabled": False}}
NO_LONGER_DUE = "not sent: its mentions were answered or closed, or their brand made a competitor, while it waited"
ONLY_VOLUME = {"digest": {"enabled": False}, "sla": {"enabled": False}, "negative_spike": {"enabled": False}}


# -- Markdown-rendering services get escaped Markdown -------------------------------------------------


def _assert_inert(markdown: str) -> None:
    assert ESCAPED in markdown
    assert "[Verify here](" not in markdown and "![x](" not in markdown and "**FREE" not in markdown


def test_a_mattermost_target_gets_mention_text_as_escaped_markdown(sqlite_db: Database) -> None:
    # Mattermost renders the text apprise sends as Markdown: unescaped, a post showed a phishing link.
    brand = add_brand(sqlite_db)
    urgent = add_mentions(sqlite_db, brand, text=HOSTILE, author_handle="mallory", url="https://x.example/1")
    with Receiver() as receiver:
        with AlertEngine(sqlite_db, settings(), [target("team", receiver.mattermost_url())], Clock()) as engine:
            engine.on_new_mentions(urgent)
            assert engine.drain(10)
        [got] = receiver.wait_for(1)
    _assert_inert(got.payload["text"])
    assert "**@\u200bmallory**" in got.body and "[Original](https://x.example/1)" in got.body


@pytest.fixture
def discord_posts(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """What apprise posts to Discord (its webhook host is fixed, so no local receiver can stand in)."""
    posts: list[dict[str, Any]] = []

    def post(url: str, data: Any = None, **_: Any) -> requests.Response:
        posts.append(json.loads(data))
        response = requests.Response()
        response.status_code = 204
        return response

    monkeypatch.setattr(requests, "post", post)
    return posts


@pytest.mark.parametrize(("url", "configured"), [("discord://1234567890/abcdefTOKEN", None),
                                                 ("https://discord.com/api/webhooks/1234567890/abcdefTOKEN", "text"),
                                                 ("discord://1234567890/abcdefTOKEN", "html")])
def test_a_discord_target_gets_escaped_markdown_whatever_format_is_configured(
        sqlite_db: Database, discord_posts: list[dict[str, Any]], url: str, configured: str | None) -> None:
    brand = add_brand(sqlite_db)
    urgent = add_mentions(sqlite_db, brand, text=HOSTILE)
    with AlertEngine(sqlite_db, settings(), [target("team", url, format=configured)], Clock()) as engine:
        engine.on_new_mentions(urgent)
        assert engine.drain(10)
    [payload] = discord_posts
    _assert_inert(payload["content"])
    assert [e.status for e in events(sqlite_db)] == ["sent"]


# -- held alerts are checked again when they go out ---------------------------------------------------


def _needs_response(db: Database, brand: int, handle: str, minutes_ago: float) -> int:
    [mention] = add_mentions(db, brand, needs_response=True, author_handle=handle,
                             created_at=START - timedelta(minutes=minutes_ago))
    return mention


class HeldSla(NamedTuple):
    receiver: Receiver
    engine: AlertEngine
    clock: Clock
    brand: int
    bob: int
    carol: int


@contextmanager
def _held_sla_warning(db: Database, **sla: Any) -> Iterator[HeldSla]:
    """Alice warned at 12:00; Bob and Carol (due 12:16, 12:17) at risk at 12:02, their warning held (SLA
    rule settings ``sla``, the others off), to the target "care"."""
    brand, clock = add_brand(db), Clock()
    rules = {**ONLY_SLA, "sla": sla} if sla else ONLY_SLA
    with Receiver() as receiver:
        with AlertEngine(db, settings(rules=rules), [target("care", receiver.json_url())], clock) as engine:
            _needs_response(db, brand, "alice", 46)
            engine.tick()
            assert engine.drain(10)
            bob, carol = _needs_response(db, brand, "bob", 44), _needs_response(db, brand, "carol", 43)
            clock.advance(minutes=2)
            engine.tick()
            assert engine.drain(10)
            yield HeldSla(receiver, engine, clock, brand, bob, carol)


def test_a_held_sla_warning_leaves_out_a_mention_answered_while_it_waited(sqlite_db: Database) -> None:
    with _held_sla_warning(sqlite_db) as held:
        with sqlite_db.write() as session:
            session.execute(update(Mention).where(Mention.id == held.bob)
                            .values(first_response_at=held.clock(), status="open"))
        held.clock.advance(minutes=13)  # 12:15: the cooldown is over
        assert held.engine.drain(10)
        second = held.receiver.wait_for(2)[1]
    assert second.title == "Response due soon: 1 mention of Acme"
    assert "carol" in second.body and "bob" not in second.body


def test_a_held_sla_warning_about_mentions_all_answered_or_closed_is_not_sent(sqlite_db: Database) -> None:
    with _held_sla_warning(sqlite_db) as held:
        with sqlite_db.write() as session:
            session.execute(update(Mention).where(Mention.id == held.bob).values(first_response_at=held.clock()))
            session.execute(update(Mention).where(Mention.id == held.carol).values(status="resolved"))
        held.clock.advance(minutes=13)
        assert held.engine.drain(10)
        assert len(held.receiver.received) == 1  # Alice's warning only
    event = events(sqlite_db)[1]
    assert (event.status, event.reason) == ("suppressed", NO_LONGER_DUE)


def test_a_held_sla_warning_about_a_brand_made_a_competitor_meanwhile_is_not_sent(sqlite_db: Database) -> None:
    with _held_sla_warning(sqlite_db) as held:
        with sqlite_db.write() as session:  # the config's `competitor = true`, as the next sync stores it
            session.execute(update(Brand).where(Brand.id == held.brand).values(competitor=True))
        held.clock.advance(minutes=13)
        assert held.engine.drain(10)
        assert len(held.receiver.received) == 1  # Alice's warning only
    assert (events(sqlite_db)[1].status, events(sqlite_db)[1].reason) == ("suppressed", NO_LONGER_DUE)


def test_a_held_urgent_alert_about_a_mention_closed_meanwhile_is_not_sent(sqlite_db: Database) -> None:
    brand, clock = add_brand(sqlite_db), Clock()
    with Receiver() as receiver:
        with AlertEngine(sqlite_db, settings(), [target("care", receiver.json_url())], clock) as engine:
            engine.on_new_mentions(add_mentions(sqlite_db, brand, text="I was hacked"))
            assert engine.drain(10)
            clock.advance(minutes=2)
            later = add_mentions(sqlite_db, brand, text="refund please")
            engine.on_new_mentions(later)  # held for the 10-minute cooldown
            with sqlite_db.write() as session:
                session.execute(update(Mention).where(Mention.id.in_(later)).values(status="resolved"))
            clock.advance(minutes=8)
            assert engine.drain(10)
        assert len(receiver.received) == 1
    held = events(sqlite_db)[1]
    assert (held.status, held.reason) == ("suppressed", "not sent: its mentions were closed while it waited")


def test_an_sla_warning_is_not_held_past_the_response_deadline(sqlite_db: Database) -> None:
    # A 30-minute cooldown held the warning about Bob (due 12:16) until 12:30, after his deadline.
    with _held_sla_warning(sqlite_db, cooldown_minutes=30) as held:
        event = events(sqlite_db)[1]
        assert (event.mention_ids, event.due_at) == ([held.bob, held.carol], START + timedelta(minutes=16))
        # Dave, posted at 11:15 but flagged as needing a response only now, joins it and brings it forward.
        dave = _needs_response(sqlite_db, held.brand, "dave", 45)
        held.clock.advance(minutes=1)
        held.engine.tick()
        event = events(sqlite_db)[1]
        assert (event.mention_ids, event.due_at) == ([held.bob, held.carol, dave], START + timedelta(minutes=15))
        held.clock.advance(minutes=12)  # 12:15
        assert held.engine.drain(10)
        assert held.receiver.wait_for(2)[1].title == "Response due soon: 3 mentions of Acme"


# -- volume spikes --------------------------------------------------------------------------------


@pytest.mark.parametrize("days_of_history", [0, 2, 3])
def test_no_spike_is_decided_before_three_days_of_history(db: Database, days_of_history: int) -> None:
    # With no history the baseline was seven days of zero: a new brand's ordinary traffic paged every 2 h.
    brand = add_brand(db)
    add_mentions(db, brand, created_at=START - timedelta(days=days_of_history, hours=2))  # its record begins
    for d in range(1, days_of_history + 1):
        add_mentions(db, brand, 5, created_at=START - timedelta(days=d, minutes=30))
    add_mentions(db, brand, 40, created_at=START - timedelta(minutes=20))
    engine = AlertEngine(db, settings(rules=ONLY_VOLUME), [target("team", NOWHERE)])
    engine.tick(START)
    decided = [(e.rule, e.details["baseline_days"], e.details["baseline_mean"]) for e in events(db)]
    assert decided == ([("volume_spike", 3, 5.0)] if days_of_history == 3 else [])


def test_the_baseline_is_the_same_local_time_on_past_days_across_a_clock_change(db: Database) -> None:
    # Compared with the same UTC time, 07:00-08:00 on the day clocks went forward met 06:00-07:00 of the
    # days before: a false spike on a brand whose traffic follows local time.
    paris = ZoneInfo("Europe/Paris")
    brand = add_brand(db)
    for day in range(21, 31):  # clocks go forward in Paris on 29 March 2026
        for hour, count in ((6, 5), (7, 30)):
            start = datetime(2026, 3, day, hour, tzinfo=paris).astimezone(timezone.utc)
            for k in range(count):
                add_mentions(db, brand, created_at=start + timedelta(minutes=60 * k / count))
    engine = AlertEngine(db, settings(timezone="Europe/Paris", rules=ONLY_VOLUME), [target("team", NOWHERE)])
    engine.tick(datetime(2026, 3, 29, 8, tzinfo=paris).astimezone(timezone.utc))
    assert events(db) == []
    add_mentions(db, brand, 60, created_at=datetime(2026, 3, 30, 7, 30, tzinfo=paris).astimezone(timezone.utc))
    engine.tick(datetime(2026, 3, 30, 8, tzinfo=paris).astimezone(timezone.utc))
    [spike] = events(db)
    assert (spike.details["current"], spike.details["baseline_mean"]) == (90, 30.0)


# -- configuration ----------------------------------------------------------------------------------


def test_a_brand_taken_out_of_the_config_gets_no_more_digests(sqlite_db: Database) -> None:
    acme = add_brand(sqlite_db)
    add_brand(sqlite_db, "oldco", "OldCo")  # taken out of the config since: its row stays
    s = settings(rules={"sla": {"enabled": False}, "volume_spike": {"enabled": False},
                        "negative_spike": {"enabled": False}})
    engine = AlertEngine(sqlite_db, s, [target("team", NOWHERE)], brand_keys=["acme"])
    for day in (2, 3):
        engine.tick(datetime(2026, 3, day, 9, 5, tzinfo=timezone.utc))
    assert [(e.rule, e.brand_id, e.details["day"]) for e in events(sqlite_db)] == [
        ("digest", acme, "2026-03-02"), ("digest", acme, "2026-03-03")]


def _config(alerts: dict[str, Any]) -> Config:
    return Config.from_dict({"brands": [{"name": "Acme", "keywords": ["acme"]}], "connectors": {"sample": {}},
                             "alerts": alerts}, env={})


@pytest.mark.parametrize("url", ["localhost:8501/?mention={id}", "ftp://desk.example/{id}",
                                 "javascript:alert({id})", "http://desk.example/?mention={id} #item"])
def test_a_dashboard_item_url_chat_could_not_link_is_refused_naming_the_key(url: str) -> None:
    # Accepted, then every alert silently left out the "Open in mentiondesk" link.
    with pytest.raises(ConfigError, match=r"alerts\.dashboard_item_url: .*must be an http:// or https:// address"):
        _config({"dashboard_item_url": url})
    assert _config({"dashboard_item_url": "https://desk.example/?mention={id}"}).alerts.dashboard_item_url
