"""An exception other than ConnectorError while a connector reads one of its sources (a bug, a payload it
did not foresee) no longer stalls the connector: it is that source's error, recorded, logged with its
traceback, and the round goes on with the other sources. Until 2026-12-06 the cursor stayed on the
failing source, so it and every source after it in the round were never read again."""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field
from typing import Any

import pytest

from connectors.base import Connector, FetchResult, Query, fetch_in_rounds
from monitor.config import Config
from monitor.poller import poll_once
from monitor.storage import Database
from tests.connector_doubles import CrashingConnector, mention, registered
from tests.fault_tools import connector_status
from tests.more_sources_fixtures import stored_rows


@dataclass
class _Cursor:
    pending: list[str] = field(default_factory=list)
    read: dict[str, int] = field(default_factory=dict)  # posts read per source

    def dump(self) -> str:
        return json.dumps(asdict(self))


class TwoSourceConnector(Connector):
    """Two sources read in rounds, one post per source and round; the sources in ``crash`` raise an
    AttributeError mid-read, after marking their post read."""

    name = "twosource"
    crash: set[str] = set()

    def fetch(self, query: Query, cursor: str | None) -> FetchResult:
        state = _Cursor(**json.loads(cursor)) if cursor else _Cursor()
        return fetch_in_rounds(state, ["feed-a", "feed-b"], lambda pending: self._read(state, pending))

    def _read(self, state: _Cursor, pending: list[str]) -> FetchResult:
        source = pending[0]
        number = state.read.get(source, 0)
        state.read[source] = number + 1  # half-read: the resume page must not keep this
        if source in self.crash:
            payload: Any = "a post payload"
            payload.get("id")  # an AttributeError, as an odd payload made in real connectors
        state.pending = pending[1:]
        post = mention(self.name, number, external_id=f"{source}-{number}")
        return FetchResult([post], next_cursor=state.dump(), has_more=bool(state.pending))


def config(db: Database, name: str) -> Config:
    return Config.from_dict({"brands": [{"name": "Acme", "keywords": ["acme"]}], "connectors": {name: {}},
                             "database": {"url": db.display_url}}, env={})


@pytest.fixture(autouse=True)
def _doubles() -> Any:
    TwoSourceConnector.crash = set()
    with registered(TwoSourceConnector, CrashingConnector):
        yield


def test_an_unexpected_error_in_one_source_is_recorded_and_the_others_read(db: Database,
                                                                            caplog: pytest.LogCaptureFixture) -> None:
    TwoSourceConnector.crash = {"feed-a"}
    with caplog.at_level(logging.ERROR):
        first = poll_once(db, config(db, "twosource"))[0]
    assert set(stored_rows(db, "twosource")) == {"feed-b-0"}
    assert "feed-a: unexpected AttributeError" in (first.error or "") and "a post payload" not in (first.error or "")
    crashed = [r for r in caplog.records if r.levelno == logging.ERROR and "twosource" in r.getMessage()]
    assert crashed and crashed[0].exc_info is not None, "logged with its traceback"
    status = connector_status(db, "twosource")
    assert status is not None and status.consecutive_failures == 1 and "unexpected AttributeError" in status.last_error
    assert status.backoff_until is None, "one source failing does not hold back the others"

    second = poll_once(db, config(db, "twosource"))[0]
    assert set(stored_rows(db, "twosource")) == {"feed-b-0", "feed-b-1"}, "read again in the next round"
    assert connector_status(db, "twosource").consecutive_failures == 2 and not second.ok

    TwoSourceConnector.crash = set()  # fixed: feed-a's post was never marked read by the failed reads
    assert poll_once(db, config(db, "twosource"))[0].ok
    assert "feed-a-0" in stored_rows(db, "twosource")
    assert connector_status(db, "twosource").consecutive_failures == 0


def test_every_source_failing_unexpectedly_backs_the_connector_off(db: Database) -> None:
    TwoSourceConnector.crash = {"feed-a", "feed-b"}
    report = poll_once(db, config(db, "twosource"))[0]
    assert "feed-a: unexpected" in (report.error or "") and "feed-b: unexpected" in (report.error or "")
    status = connector_status(db, "twosource")
    assert status is not None and status.backoff_reason == "error" and status.backoff_until is not None


def test_a_crash_outside_sources_names_the_connector_and_type_but_not_the_exception_text(db: Database) -> None:
    report = poll_once(db, config(db, "crashing"))[0]
    assert "unexpected KeyError in the crashing connector" in (report.error or "")
    assert "'data'" not in (report.error or ""), "the exception's text may quote the payload"
