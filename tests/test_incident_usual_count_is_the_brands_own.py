"""An incident's "usual count" is its own brand's: another brand's steady trickle of a complaint does not
hide a burst of the same complaint about this brand, and stays usual for the brand it is about."""

from __future__ import annotations

from datetime import timedelta

import numpy as np

from monitor.incidents import IncidentDetector, IncidentSettings, incident_mentions
from monitor.storage import Database
from tests.test_incidents import NOW, _around, _brand, _synthetic

LANGS = ["en", "es", "fr"]


def test_another_brands_steady_complaint_does_not_hide_this_brands_burst_of_it(sqlite_db: Database) -> None:
    rng = np.random.default_rng(7)
    ours, sister = _brand(sqlite_db, "Acme"), _brand(sqlite_db, "Acme Pay")
    topic = rng.normal(size=384)
    # Three days of the sister brand's customers making one complaint, three an hour, up to 5 hours ago.
    hours = [NOW - timedelta(days=3) + timedelta(minutes=20 * i) for i in range(3 * 72 - 15)]
    _synthetic(sqlite_db, sister, _around(rng, topic, len(hours)), hours, [LANGS[i % 3] for i in range(len(hours))])
    # Then ten posts of it about each brand in the last hour.
    times = [NOW - timedelta(minutes=60 - 6 * i) for i in range(10)]
    ours_ids = _synthetic(sqlite_db, ours, _around(rng, topic, 10), times, LANGS * 3 + LANGS[:1])
    _synthetic(sqlite_db, sister, _around(rng, topic, 10), times, LANGS * 3 + LANGS[:1])
    # About 12 in four hours are usual for the sister brand (ten are not a burst); for ours, none were.
    [opened] = IncidentDetector(sqlite_db, IncidentSettings()).run(NOW).opened
    assert {m.id for m in incident_mentions(sqlite_db, opened)} == set(ours_ids)
