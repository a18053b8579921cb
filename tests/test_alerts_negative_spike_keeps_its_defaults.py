"""Setting one key of `[alerts.rules.negative_spike]` (say only its cooldown) kept the documented thresholds for the
rest: it silently took the volume rule's (min_count 20, min_zscore 4), and a 15-post complaint wave never paged."""

from __future__ import annotations

from datetime import timedelta

from monitor.alerts.engine import AlertEngine
from monitor.alerts.receiver import Receiver
from monitor.alerts.settings import AlertSettings
from monitor.storage import Database
from tests.test_alerts import (
    START,
    Clock,
    add_brand,
    add_mentions,
    events,
    settings,
    target,
)

ONLY_NEGATIVE = {"sla": {"enabled": False}, "digest": {"enabled": False}, "volume_spike": {"enabled": False}}


def test_a_negative_spike_table_with_only_its_cooldown_keeps_the_documented_thresholds() -> None:
    rules = AlertSettings.model_validate({"rules": {"negative_spike": {"cooldown_minutes": 60}}}).rules
    assert (rules.negative_spike.min_count, rules.negative_spike.min_zscore, rules.negative_spike.cooldown_minutes) \
        == (12, 5.0, 60.0)
    assert (rules.volume_spike.min_count, rules.volume_spike.min_zscore) == (20, 4.0)


def test_a_brand_override_changes_only_the_keys_it_gives() -> None:
    alerts = AlertSettings.model_validate({
        "rules": {"negative_spike": {"cooldown_minutes": 60}},
        "brands": {"acme": {"negative_spike": {"min_count": 30}}},
    })
    acme = alerts.rules_for("acme").negative_spike
    assert (acme.min_count, acme.min_zscore, acme.cooldown_minutes) == (30, 5.0, 60.0)


def test_a_complaint_wave_pages_with_only_the_cooldown_set(sqlite_db: Database) -> None:
    brand = add_brand(sqlite_db)
    add_mentions(sqlite_db, brand, created_at=START - timedelta(days=8))  # its record covers every baseline window
    for day in range(1, 8):
        add_mentions(sqlite_db, brand, created_at=START - timedelta(days=day, minutes=30), sentiment_label="negative")
    add_mentions(sqlite_db, brand, 15, created_at=START - timedelta(minutes=10), sentiment_label="negative",
                 text="broken again")
    alerts = settings(rules={**ONLY_NEGATIVE, "negative_spike": {"cooldown_minutes": 60}})
    with Receiver() as receiver:
        with AlertEngine(sqlite_db, alerts, [target("team", receiver.json_url())], Clock()) as engine:
            assert engine.tick() == 1
            assert engine.drain(10)
        receiver.wait_for(1)
    assert [(e.rule, e.status) for e in events(sqlite_db)] == [("negative_spike", "sent")]
