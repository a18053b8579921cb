"""The daily digest and the spike rules count a mention as negative by the label a person gave it, where there is
one, as the queue, urgent alerts and analytics do: they counted the model's label, so posts the team had relabelled
(a sarcastic "great, another outage" read as praise; a neutral question read as negative) still counted as before."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from monitor.alerts.engine import AlertEngine
from monitor.alerts.receiver import Receiver
from monitor.alerts.spikes import window_counts
from monitor.storage import Database
from tests.test_alerts import Clock, add_brand, add_mentions, settings, target


def test_the_digest_and_spike_counts_follow_a_persons_relabel(sqlite_db: Database) -> None:
    brand = add_brand(sqlite_db)
    clock = Clock(datetime(2026, 3, 2, 8, 0, tzinfo=timezone.utc))  # 09:00 in Paris
    posted = clock() - timedelta(hours=2)
    add_mentions(sqlite_db, brand, 2, sentiment_label="negative", created_at=posted)
    add_mentions(sqlite_db, brand, sentiment_label="negative", human_sentiment_label="neutral", created_at=posted)
    add_mentions(sqlite_db, brand, 2, sentiment_label="positive", human_sentiment_label="negative", created_at=posted)
    with sqlite_db.read() as session:  # the model's labels count 3
        assert window_counts(session, brand, clock(), timedelta(hours=3)).negative == 4
    s = settings(timezone="Europe/Paris", rules={"digest": {"at": "09:00"}, "sla": {"enabled": False}})
    with Receiver() as receiver:
        with AlertEngine(sqlite_db, s, [target("team", receiver.json_url(), rules=["digest"])], clock) as engine:
            assert engine.tick() == 1
            assert engine.drain(10)
        [got] = receiver.wait_for(1)
    assert "5 mentions, 4 negative" in got.body
