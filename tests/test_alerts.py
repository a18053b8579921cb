"""Alerts end to end: real databases, real apprise, real HTTP receivers on 127.0.0.1."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import select

import monitor.alerts.models  # noqa: F401  (registers the table with Base.metadata)
from monitor.alerts.engine import AlertEngine
from monitor.alerts.models import AlertEvent
from monitor.alerts.receiver import Receiver
from monitor.alerts.records import alert_summary, recent_events
from monitor.alerts.settings import AlertSettings, Target, TargetSettings, resolve_targets
from monitor.errors import ConfigError
from monitor.models import Brand, Mention
from monitor.storage import Database

START = datetime(2026, 3, 2, 12, 0, tzinfo=timezone.utc)
FAST_DELIVERY = {"timeout_seconds": 0.5, "max_attempts": 3, "backoff_seconds": 30, "backoff_max_seconds": 60}


class Clock:
    """Time the engine and its workers see; tests move it, so nothing waits on the wall clock."""

    def __init__(self, now: datetime = START) -> None:
        self.now = now
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self.now

    def advance(self, **delta: float) -> datetime:
        with self._lock:
            self.now += timedelta(**delta)
            return self.now


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as r:
        yield r


@pytest.fixture
def clock() -> Clock:
    return Clock()


def settings(**overrides: Any) -> AlertSettings:
    data: dict[str, Any] = {"dashboard_item_url": "http://127.0.0.1:8501/?mention={id}", "delivery": FAST_DELIVERY}
    data.update(overrides)
    return AlertSettings.model_validate(data)


def target(name: str, url: str, **options: Any) -> Target:
    return Target(TargetSettings(name=name, **options), url)


def add_brand(db: Database, key: str = "acme", name: str = "Acme") -> int:
    with db.write() as session:
        brand = Brand(key=key, name=name)
        session.add(brand)
        session.flush()
        return brand.id


_counter = iter(range(1, 10**9))


def add_mentions(db: Database, brand_id: int, count: int = 1, **fields: Any) -> list[int]:
    values: dict[str, Any] = {
        "platform": "x", "author_handle": "someone", "author_followers": 10, "text": "nice product",
        "url": "https://x.example/status/1", "created_at": START - timedelta(minutes=5),
        "sentiment_label": "neutral", "sentiment_score": 0.8, "priority": 20.0, "classified_at": START,
    }
    values.update(fields)
    with db.write() as session:
        rows = [Mention(brand_id=brand_id, external_id=f"m{next(_counter)}", raw={}, **values) for _ in range(count)]
        session.add_all(rows)
        session.flush()
        return [m.id for m in rows]


def events(db: Database) -> list[AlertEvent]:
    with db.read() as session:
        return list(session.scalars(select(AlertEvent).order_by(AlertEvent.id)))


# -- urgent items ------------------------------------------------------------------------------


def test_urgent_complaint_reaches_chat_with_escaped_excerpt_and_links(db: Database, receiver: Receiver, clock: Clock) -> None:
    brand = add_brand(db)
    hostile = "I want a REFUND now @channel <!here> **bold** [click](https://evil.example)\u202e\x1b[31m " + "x" * 400
    urgent = add_mentions(db, brand, text=hostile, author_handle="angry_bob", author_followers=1234,
                          sentiment_label="negative", sentiment_score=0.95, url="https://x.example/status/42")
    calm = add_mentions(db, brand, text="love it")
    with AlertEngine(db, settings(), [target("care", receiver.json_url())], clock) as engine:
        assert engine.on_new_mentions(urgent + calm) == 1
        assert engine.drain(10)
    [got] = receiver.wait_for(1)
    assert got.title == "Urgent mention of Acme" and got.type == "failure"
    assert "angry_bob" in got.body and "1,234 followers" in got.body and "on x" in got.body
    assert 'negative 0.95' in got.body and 'keyword "refund"' in got.body
    assert "Original: https://x.example/status/42" in got.body
    assert f"Open in mentiondesk: http://127.0.0.1:8501/?mention={urgent[0]}" in got.body
    assert "@channel" not in got.body and "<!here>" not in got.body  # no channel-wide pings
    assert "\u202e" not in got.body and "\x1b" not in got.body
    assert "x" * 300 not in got.body and "…" in got.body  # truncated excerpt
    [event] = events(db)
    assert (event.rule, event.target, event.status, event.mention_ids, event.attempts) == ("urgent", "care", "sent", urgent, 1)


def test_negative_high_reach_goes_to_a_mattermost_style_target_and_is_alerted_once(sqlite_db: Database, receiver: Receiver, clock: Clock) -> None:
    brand = add_brand(sqlite_db)
    loud = add_mentions(sqlite_db, brand, sentiment_label="negative", sentiment_score=0.9, author_followers=50_000,
                        text="this app keeps crashing")
    small = add_mentions(sqlite_db, brand, sentiment_label="negative", sentiment_score=0.9, author_followers=20,
                         text="this app keeps crashing")
    with AlertEngine(sqlite_db, settings(), [target("team", receiver.mattermost_url())], clock) as engine:
        engine.on_new_mentions(loud + small)
        assert engine.drain(10)
        assert engine.on_new_mentions(loud + small) == 0  # a re-run of the same round is not a new alert
        assert engine.drain(10)
    [got] = receiver.wait_for(1)
    assert got.path == "/hooks/receivertoken"
    assert "Urgent mention of Acme" in got.title and "negative with high reach" in got.body
    assert len(events(sqlite_db)) == 1


def test_a_burst_is_grouped_and_the_cooldown_holds_later_items_for_one_message(sqlite_db: Database, receiver: Receiver, clock: Clock) -> None:
    brand = add_brand(sqlite_db)
    s = settings(rules={"urgent": {"cooldown_minutes": 10}})
    with AlertEngine(sqlite_db, s, [target("care", receiver.json_url())], clock) as engine:
        engine.on_new_mentions(add_mentions(sqlite_db, brand, 3, text="I was hacked"))  # one round: one message
        assert engine.drain(10)
        assert receiver.wait_for(1)[0].title == "Urgent: 3 mentions of Acme"
        clock.advance(minutes=2)
        engine.on_new_mentions(add_mentions(sqlite_db, brand, text="refund please"))
        clock.advance(minutes=3)
        engine.on_new_mentions(add_mentions(sqlite_db, brand, 2, text="see you in court, lawsuit"))
        assert engine.drain(10)
        assert len(receiver.received) == 1  # held for the cooldown
        held = [e for e in events(sqlite_db) if e.status == "pending"]
        assert len(held) == 1 and len(held[0].mention_ids) == 3 and "cooldown" in (held[0].reason or "")
        clock.advance(minutes=5)  # cooldown over: the held items go out together
        assert engine.drain(10)
    second = receiver.wait_for(2)[1]
    assert second.title == "Urgent: 3 mentions of Acme" and 'keyword "lawsuit"' in second.body
    assert [e.status for e in events(sqlite_db)] == ["sent", "sent"]


def test_quiet_hours_suppress_and_record_but_an_on_call_target_still_gets_it(sqlite_db: Database, clock: Clock) -> None:
    brand = add_brand(sqlite_db)
    s = settings(timezone="Europe/Paris", quiet_hours={"start": "12:30", "end": "08:00"})  # 13:00 in Paris now
    with Receiver() as team, Receiver() as pager:
        targets = [target("team", team.json_url()), target("pager", pager.json_url(), ignore_quiet_hours=True)]
        with AlertEngine(sqlite_db, s, targets, clock) as engine:
            engine.on_new_mentions(add_mentions(sqlite_db, brand, text="we were hacked"))
            assert engine.drain(10)
        assert len(pager.wait_for(1)) == 1 and team.received == []
    status = {e.target: (e.status, e.reason) for e in events(sqlite_db)}
    assert status == {"team": ("suppressed", "quiet hours"), "pager": ("sent", None)}


def test_targets_only_get_the_rules_brands_and_levels_they_ask_for(sqlite_db: Database, clock: Clock) -> None:
    acme, other = add_brand(sqlite_db), add_brand(sqlite_db, "other", "Other")
    with Receiver() as r:
        targets = [
            target("acme-only", r.json_url("a"), brands=["acme"]),
            target("digest-only", r.json_url("d"), rules=["digest"]),
            target("warnings-up", r.json_url("w"), min_level="warning"),
        ]
        with AlertEngine(sqlite_db, settings(), targets, clock) as engine:
            engine.on_new_mentions(add_mentions(sqlite_db, acme, text="refund") + add_mentions(sqlite_db, other, text="refund"))
            assert engine.drain(10)
    assert sorted((e.target, e.brand_id) for e in events(sqlite_db)) == [
        ("acme-only", acme), ("warnings-up", acme), ("warnings-up", other)]


# -- delivery failures --------------------------------------------------------------------------


def test_a_receiver_that_fails_then_recovers_gets_the_alert_after_back_off(sqlite_db: Database, clock: Clock) -> None:
    brand = add_brand(sqlite_db)
    with Receiver(fail_first=2) as flaky:
        with AlertEngine(sqlite_db, settings(), [target("flaky", flaky.json_url())], clock) as engine:
            engine.on_new_mentions(add_mentions(sqlite_db, brand, text="hacked account"))
            assert engine.drain(10)
            [event] = events(sqlite_db)
            assert (event.status, event.attempts, event.error) == ("pending", 1, "HTTP 500 from the target")
            assert event.due_at == START + timedelta(seconds=30)  # back-off, not a hot retry loop
            clock.advance(seconds=30)
            assert engine.drain(10)
            [event] = events(sqlite_db)
            assert (event.attempts, event.due_at) == (2, START + timedelta(seconds=90))  # doubled
            clock.advance(seconds=60)
            assert engine.drain(10)
        assert len(flaky.wait_for(1)) == 1 and flaky.requests == 3
    [event] = events(sqlite_db)
    assert (event.status, event.attempts, event.error) == ("sent", 3, None)
    assert alert_summary(sqlite_db, clock()).failing_targets == []


def test_a_hanging_receiver_times_out_without_stalling_the_caller_or_other_targets(sqlite_db: Database, clock: Clock) -> None:
    brand = add_brand(sqlite_db)
    s = settings(delivery={**FAST_DELIVERY, "max_attempts": 1})
    with Receiver(hang=True) as hung, Receiver() as fine:
        targets = [target("hung", hung.json_url()), target("fine", fine.json_url())]
        with AlertEngine(sqlite_db, s, targets, clock) as engine:
            # Returns as soon as the events are recorded, whatever the receivers do.
            assert engine.on_new_mentions(add_mentions(sqlite_db, brand, text="lawsuit incoming")) == 2
            assert len(fine.wait_for(1)) == 1
            assert engine.drain(10)  # the hung send ends at the apprise timeout
        status = {e.target: (e.status, e.error) for e in events(sqlite_db)}
    assert status == {"hung": ("failed", "connection error or timeout"), "fine": ("sent", None)}
    assert alert_summary(sqlite_db, clock()).failing_targets == ["hung"]


# -- time-based rules ----------------------------------------------------------------------------


def _baseline(db: Database, brand: int, per_day: int, days: int = 7, **fields: Any) -> None:
    for d in range(1, days + 1):
        add_mentions(db, brand, per_day, created_at=START - timedelta(days=d, minutes=30), **fields)


def test_volume_and_negative_spikes_against_the_same_hour_on_past_days(db: Database, clock: Clock) -> None:
    acme, quiet = add_brand(db), add_brand(db, "quiet", "Quiet")
    add_mentions(db, acme, created_at=START - timedelta(days=8))  # its record covers every baseline window
    _baseline(db, acme, 8)
    _baseline(db, acme, 1, sentiment_label="negative")
    add_mentions(db, acme, 40, created_at=START - timedelta(minutes=20))  # 5× the usual hour
    add_mentions(db, acme, 15, created_at=START - timedelta(minutes=10), sentiment_label="negative", text="broken again")
    add_mentions(db, quiet, 4, created_at=START - timedelta(minutes=10), sentiment_label="negative")  # 4 vs 0: not a page
    s = settings(rules={"sla": {"enabled": False}, "digest": {"enabled": False}})
    with Receiver() as r:
        with AlertEngine(db, s, [target("team", r.json_url())], clock) as engine:
            engine.tick()
            assert engine.drain(10)
            clock.advance(minutes=1)
            assert engine.tick() == 0  # still spiking, same hour: already decided
            clock.advance(hours=1)
            add_mentions(db, acme, 60, created_at=clock() - timedelta(minutes=5), sentiment_label="negative")
            engine.tick()  # a new hour but inside the cooldown: recorded as suppressed
            assert engine.drain(10)
        got = {x.title for x in r.wait_for(2)}
    assert got == {"Volume spike for Acme: 55 mentions in 60 min", "Negative spike for Acme: 15 negative mentions in 60 min"}
    body = next(x.body for x in r.received if x.title.startswith("Negative"))
    assert "usually 1.0 at this time of day (past 7 days)" in body and "broken again" in body
    decided = [(e.rule, e.brand_id, e.status) for e in events(db)]
    assert sorted(decided) == [("negative_spike", acme, "sent"), ("negative_spike", acme, "suppressed"),
                               ("volume_spike", acme, "sent"), ("volume_spike", acme, "suppressed")]


def test_sla_warning_for_unanswered_items_close_to_the_deadline(sqlite_db: Database, receiver: Receiver, clock: Clock) -> None:
    brand = add_brand(sqlite_db)
    due_soon = add_mentions(sqlite_db, brand, needs_response=True, created_at=START - timedelta(minutes=50), text="hello?")
    add_mentions(sqlite_db, brand, needs_response=True, created_at=START - timedelta(minutes=50),
                 first_response_at=START - timedelta(minutes=40))  # answered
    add_mentions(sqlite_db, brand, needs_response=True, created_at=START - timedelta(minutes=10))  # time left
    add_mentions(sqlite_db, brand, needs_response=False, created_at=START - timedelta(minutes=50))
    s = settings(rules={"digest": {"enabled": False}, "sla": {"response_minutes": 60, "warn_before_minutes": 15}})
    with AlertEngine(sqlite_db, s, [target("care", receiver.json_url())], clock) as engine:
        engine.tick()
        clock.advance(minutes=1)
        engine.tick()  # the same item is not warned about twice
        assert engine.drain(10)
    [got] = receiver.wait_for(1)
    assert got.title == "Response due soon: 1 mention of Acme" and "60-minute response target" in got.body
    assert [e.mention_ids for e in events(sqlite_db)] == [due_soon]


def test_daily_digest_once_per_day_at_the_configured_local_time(sqlite_db: Database, receiver: Receiver) -> None:
    brand = add_brand(sqlite_db)
    clock = Clock(datetime(2026, 3, 2, 7, 59, tzinfo=timezone.utc))  # 08:59 in Paris
    add_mentions(sqlite_db, brand, 3, created_at=clock() - timedelta(hours=2))
    add_mentions(sqlite_db, brand, 2, sentiment_label="negative", priority=80.0, text="slow support",
                 created_at=clock() - timedelta(hours=3))
    add_mentions(sqlite_db, brand, created_at=clock() - timedelta(hours=30))  # the day before
    s = settings(timezone="Europe/Paris", rules={"digest": {"at": "09:00"}, "sla": {"enabled": False}})
    with AlertEngine(sqlite_db, s, [target("team", receiver.json_url(), rules=["digest"])], clock) as engine:
        assert engine.tick() == 0
        clock.advance(minutes=1)
        assert engine.tick() == 1
        clock.advance(hours=3)
        assert engine.tick() == 0
        assert engine.drain(10)
    [got] = receiver.wait_for(1)
    assert got.title == "Daily digest for Acme, 2026-03-02" and got.type == "info"
    assert "5 mentions, 2 negative" in got.body and "slow support" in got.body


# -- config and records ---------------------------------------------------------------------------


def test_target_urls_come_from_the_environment_and_errors_name_the_variable() -> None:
    s = AlertSettings.model_validate({"targets": [{"name": "care-team"}]})
    with pytest.raises(ConfigError, match="MENTIONDESK_ALERT_CARE_TEAM_URL"):
        resolve_targets(s, {})
    with pytest.raises(ConfigError, match="MENTIONDESK_ALERT_CARE_TEAM_URL is not a URL apprise supports") as err:
        resolve_targets(s, {"MENTIONDESK_ALERT_CARE_TEAM_URL": "nonsense-s3cret"})
    assert "s3cret" not in str(err.value)
    [t] = resolve_targets(s, {"MENTIONDESK_ALERT_CARE_TEAM_URL": "slack://T1/B2/s3cret"})
    assert "s3cret" not in repr(t)


def test_brand_overrides_replace_only_the_keys_given_and_typos_are_refused() -> None:
    s = AlertSettings.model_validate({"rules": {"urgent": {"negative_min_followers": 500}},
                                      "brands": {"acme": {"urgent": {"keywords": ["recall"]}}}})
    assert s.rules_for("acme").urgent.keywords == ["recall"]
    assert s.rules_for("acme").urgent.negative_min_followers == 500
    assert "lawsuit" in s.rules_for("other").urgent.keywords
    with pytest.raises(ValueError, match="cooldown_minuts"):
        AlertSettings.model_validate({"rules": {"urgent": {"cooldown_minuts": 5}}})


def test_two_target_names_that_read_the_same_url_variable_are_refused() -> None:
    # "a-b" and "a_b" both read MENTIONDESK_ALERT_A_B_URL: one would have sent to the other's chat.
    with pytest.raises(ValueError, match="alert targets a-b and a_b would both take their URL from "
                                         "MENTIONDESK_ALERT_A_B_URL; rename one"):
        AlertSettings.model_validate({"targets": [{"name": "a-b"}, {"name": "a_b"}]})


@pytest.mark.parametrize("table", [{"quiet_hours": {"start": "22:00+01:00", "end": "07:00"}},
                                   {"quiet_hours": {"start": "22:00", "end": "07:00Z"}},
                                   {"rules": {"digest": {"at": "09:00+01:00"}}},
                                   {"brands": {"acme": {"digest": {"at": "09:00-05:00"}}}}])
def test_times_of_day_with_a_utc_offset_are_refused(table: dict) -> None:
    # Accepted until now, then compared with local times: every delivery (quiet hours) or every tick
    # (the digest) raised TypeError.
    with pytest.raises(ValueError, match="give a local time; the zone is set by `timezone`"):
        AlertSettings.model_validate(table)


@pytest.mark.parametrize("table", [{"rules": {"urgent": {"cooldown_minutes": float("inf")}}},
                                   {"rules": {"sla": {"response_minutes": float("nan")}}},
                                   {"rules": {"volume_spike": {"cooldown_minutes": 1e300}}},
                                   {"delivery": {"backoff_max_seconds": float("inf")}}])
def test_waits_that_would_overflow_a_time_are_refused(table: dict) -> None:
    # inf passed ge=0, then overflowed timedelta at the first alert (cooldown) or retry (back-off).
    with pytest.raises(ValueError, match="finite number|less than or equal"):
        AlertSettings.model_validate(table)


def test_records_show_target_names_never_urls(sqlite_db: Database, receiver: Receiver, clock: Clock) -> None:
    brand = add_brand(sqlite_db)
    url = receiver.mattermost_url("tok3nsecret")
    with AlertEngine(sqlite_db, settings(), [target("team", url)], clock) as engine:
        engine.on_new_mentions(add_mentions(sqlite_db, brand, text="refund"))
        assert engine.drain(10)
    [view] = recent_events(sqlite_db, 5)
    assert (view.target, view.brand, view.status, view.rule) == ("team", "Acme", "sent", "urgent")
    assert "tok3nsecret" not in repr(view)
    summary = alert_summary(sqlite_db, clock())
    assert summary.by_status == {"sent": 1} and summary.last_sent_at == clock()
