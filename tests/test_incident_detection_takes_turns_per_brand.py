"""Two workers detecting incidents at once on PostgreSQL (each does after every classified read) take
turns per brand: until 2026-12-07 both read the same new complaints, both opened the incident or both
joined the same newcomers, and the second's whole run failed on the duplicate (UniqueViolation on
incident_mentions), every brand's work with it."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

import numpy as np
import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from monitor.incidents import DetectionResult, IncidentDetector, IncidentSettings
from monitor.models import Incident, IncidentMention
from tests.test_incidents import NOW, _around, _brand, _synthetic
from tests.fault_tools import named_database, waiting_for_a_lock

LANGS = ["en", "es", "fr", "de"] * 2


@pytest.mark.parametrize("open_incident", [False, True], ids=["new-incident", "open-incident"])
def test_two_workers_detecting_at_once_open_each_incident_once_and_join_each_mention_once(
        postgres_url: str, monkeypatch: pytest.MonkeyPatch, open_incident: bool) -> None:
    db = named_database(postgres_url)
    try:
        db.upgrade()
        rng = np.random.default_rng(3)
        brand_id = _brand(db)
        topic = rng.normal(size=384)
        times = [NOW - timedelta(minutes=60 - 3 * i) for i in range(8)]
        earlier: list[int] = []
        if open_incident:
            earlier = _synthetic(db, brand_id, _around(rng, topic, 8), times, LANGS)
            [incident_id] = IncidentDetector(db, IncidentSettings()).run(NOW).opened
        burst = _synthetic(db, brand_id, _around(rng, topic, 8), [t + timedelta(minutes=30) for t in times], LANGS)

        first_read, first_may_go_on = threading.Event(), threading.Event()
        read = IncidentDetector._candidates

        def hold_the_first(self: IncidentDetector, *args: Any) -> Any:
            rows = read(self, *args)
            if not first_read.is_set():  # the first worker: candidates read, nothing written yet
                first_read.set()
                first_may_go_on.wait()
            return rows

        monkeypatch.setattr(IncidentDetector, "_candidates", hold_the_first)
        outcomes: dict[str, DetectionResult | SQLAlchemyError] = {}

        def detect(name: str) -> None:
            try:
                outcomes[name] = IncidentDetector(db, IncidentSettings()).run(NOW)
            except SQLAlchemyError as exc:
                outcomes[name] = exc

        first = threading.Thread(target=detect, args=("first",))
        second = threading.Thread(target=detect, args=("second",))
        first.start()
        assert first_read.wait(60), "the first worker never read its candidates"
        # The second worker's own read, classified while the first detects: only the second can see it.
        late = _synthetic(db, brand_id, _around(rng, topic, 3), [NOW - timedelta(minutes=m) for m in (6, 4, 2)],
                          ["en", "es", "fr"])
        second.start()
        # Until the second has finished (nothing held it) or waits for the lock the first holds.
        give_up = time.monotonic() + 60  # only so that a hang fails: no outcome depends on speed
        while second.is_alive() and not waiting_for_a_lock(db):
            assert time.monotonic() < give_up, "the second worker neither finished nor waited for a lock"
            second.join(0.01)
        first_may_go_on.set()
        first.join(60)
        second.join(60)
        assert not first.is_alive() and not second.is_alive()

        assert all(isinstance(outcome, DetectionResult) for outcome in outcomes.values()), outcomes
        with db.read() as session:
            incident_ids = list(session.scalars(select(Incident.id)))
            members = dict(session.execute(select(IncidentMention.mention_id, IncidentMention.incident_id)).all())
            rows = session.scalar(select(func.count()).select_from(IncidentMention))
        [incident_id] = incident_ids
        assert outcomes["first"] == (DetectionResult(joined={incident_id: 8}) if open_incident
                                     else DetectionResult(opened=[incident_id]))
        assert outcomes["second"] == DetectionResult(joined={incident_id: 3}), "the waiting worker's newcomers joined"
        assert members == dict.fromkeys(earlier + burst + late, incident_id) and rows == len(members)
    finally:
        db.dispose()
