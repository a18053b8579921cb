"""A new brand's first days never page a spike: its record begins when it was added, or at its oldest imported
mention. A first poll that reads a quiet source's newest page (weeks old on Reddit, HN or a feed) does not make the
brand's record begin weeks ago, which measured its first day's ordinary traffic against seven days of zeros."""

from __future__ import annotations

from datetime import timedelta

from monitor.alerts.engine import AlertEngine
from monitor.models import Brand, BrandQuery
from monitor.storage import Database
from tests.test_alerts import START, add_mentions, events, settings, target
from tests.test_alerts_delivery_safety import NOWHERE

ONLY_VOLUME = {"digest": {"enabled": False}, "sla": {"enabled": False}, "negative_spike": {"enabled": False}}


def _brand_added_two_hours_ago(db: Database) -> tuple[int, dict[str, int]]:
    """Acme, added to the config two hours before START, and its queries' ids by connector."""
    with db.write() as session:
        brand = Brand(key="acme", name="Acme", created_at=START - timedelta(hours=2))
        session.add(brand)
        session.flush()
        queries = {c: BrandQuery(brand_id=brand.id, connector=c, key="acme") for c in ("x", "reddit")}
        session.add_all(queries.values())
        session.flush()
        return brand.id, {c: q.id for c, q in queries.items()}


def _volume_spikes(db: Database) -> list[str]:
    AlertEngine(db, settings(rules=ONLY_VOLUME), [target("team", NOWHERE)]).tick(START)
    return [e.rule for e in events(db)]


def test_a_first_poll_that_reads_a_weeks_old_post_does_not_make_the_first_day_a_spike(db: Database) -> None:
    acme, queries = _brand_added_two_hours_ago(db)
    add_mentions(db, acme, platform="reddit", query_id=queries["reddit"], created_at=START - timedelta(days=20))
    add_mentions(db, acme, 40, query_id=queries["x"], created_at=START - timedelta(minutes=30))  # an ordinary hour
    assert _volume_spikes(db) == []


def test_imported_history_still_gives_a_new_brand_its_baseline(db: Database) -> None:
    # `mentiondesk import` brings the days before the brand was added (stored with no query): they count.
    acme, queries = _brand_added_two_hours_ago(db)
    for day in range(1, 8):
        add_mentions(db, acme, 8, created_at=START - timedelta(days=day, minutes=30))
    add_mentions(db, acme, 40, query_id=queries["x"], created_at=START - timedelta(minutes=30))  # 5× the usual hour
    assert _volume_spikes(db) == ["volume_spike"]
