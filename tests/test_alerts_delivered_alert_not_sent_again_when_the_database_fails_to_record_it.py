"""A database error while recording a delivered alert (PostgreSQL restarting, SQLite locked by another writer past
its busy timeout) was logged and dropped: the event stayed 'sending', was claimed again once its claim expired, and
the chat got the alert a second time. The outcome is now kept and recorded once the database takes it."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import text

from monitor import storage
from monitor.alerts.engine import AlertEngine
from monitor.alerts.receiver import Received, Receiver
from monitor.storage import Database
from tests.test_alerts import Clock, add_brand, add_mentions, events, settings, target

# What PostgreSQL tells the sessions it ends when it shuts down for a restart.
_REFUSE_SENT = """
CREATE FUNCTION refuse_sent() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
    RAISE EXCEPTION 'terminating connection due to administrator command' USING ERRCODE = 'admin_shutdown';
END $$;
CREATE TRIGGER refuse_sent BEFORE UPDATE ON alert_events FOR EACH ROW WHEN (NEW.status = 'sent')
    EXECUTE FUNCTION refuse_sent();
"""


class Outage:
    """The database refusing the worker's writes from the moment the chat takes the alert, until ``end``."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._writer: sqlite3.Connection | None = None

    def begin(self) -> None:
        if self.db.is_sqlite:  # another process holding the write lock
            self._writer = sqlite3.connect(self.db.engine.url.database or "", isolation_level=None,
                                           check_same_thread=False)
            self._writer.execute("BEGIN EXCLUSIVE")
        else:
            with self.db.write() as session:
                session.execute(text(_REFUSE_SENT))

    def end(self) -> None:
        if self._writer is not None:
            self._writer.execute("COMMIT")
            self._writer.close()
        else:
            with self.db.write() as session:
                session.execute(text("DROP FUNCTION refuse_sent CASCADE"))


class OutageOnDeliveryReceiver(Receiver):
    """Takes the first alert, and the database away before answering."""

    def __init__(self, outage: Outage) -> None:
        self.outage = outage
        super().__init__()

    def _record(self, item: Received) -> None:
        if not self.received:
            self.outage.begin()
        super()._record(item)


@pytest.fixture
def quickly_locked_db(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Database]:
    monkeypatch.setattr(storage, "SQLITE_BUSY_TIMEOUT_MS", 100)  # "database is locked" after 0.1 s, not 30
    db = Database.open(database_url)
    db.upgrade()
    yield db
    db.dispose()


def test_an_alert_delivered_while_the_database_is_down_is_recorded_once_it_is_back_and_not_sent_again(
        quickly_locked_db: Database) -> None:
    db, clock = quickly_locked_db, Clock()
    brand = add_brand(db)
    outage = Outage(db)
    with OutageOnDeliveryReceiver(outage) as receiver:
        with AlertEngine(db, settings(), [target("care", receiver.json_url())], clock) as engine:
            engine.on_new_mentions(add_mentions(db, brand, text="I want a refund now"))
            receiver.wait_for(1)
            time.sleep(1.5)  # the outcome is refused a few times
            outage.end()
            engine.drain(5)
            clock.advance(minutes=10)  # well past a claim's lease
            engine.drain(5)
        receiver.wait_for(2, timeout=1)
    assert len(receiver.received) == 1, "sent once"
    [event] = events(db)
    assert (event.status, event.attempts, event.error) == ("sent", 1, None)
