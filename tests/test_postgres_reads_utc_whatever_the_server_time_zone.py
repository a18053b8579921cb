"""A PostgreSQL server whose TimeZone is not UTC (initdb takes the machine's zone): dates at the ends of
what Python holds are still read, and `db upgrade` still passes."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from monitor.models import Mention
from monitor.storage import Database

LAST_HOUR = datetime(9999, 12, 31, 23, tzinfo=timezone.utc)
FIRST_HOUR = datetime(1, 1, 1, 0, tzinfo=timezone.utc)
FETCHED = datetime(2026, 11, 1, 9, tzinfo=timezone.utc)


def _in_zone(url: str, zone: str) -> str:
    """``url`` with its connections' TimeZone set as a server in ``zone`` sets it, keeping the URL's own options."""
    parsed = make_url(url)
    return parsed.update_query_dict({"options": f"{parsed.query['options']} -ctimezone={zone}"}).render_as_string(
        hide_password=False)


@pytest.mark.parametrize("zone", ["Europe/Berlin", "America/New_York"])
def test_upgrading_mentions_dated_at_the_ends_of_time_passes_in_any_server_zone(postgres_url: str, zone: str) -> None:
    # In Berlin 9999-12-31 23:00 UTC is year 10000, in New York 0001-01-01 00:00 UTC is year 0: psycopg
    # failed to read either ("timestamp too large (after year 10K)"), and 0014, which cleans such rows, never ran.
    db = Database.open(postgres_url)
    db.upgrade("0013")
    with db.engine.begin() as conn:
        stored = sa.Table("mentions", sa.MetaData(), autoload_with=conn)
        conn.execute(stored.insert(), [
            dict(id=i, platform="rss", external_id=str(i), text="acme", status="new", replyable=False,
                 created_at=created_at, fetched_at=FETCHED, raw={}) for i, created_at in ((1, LAST_HOUR),
                                                                                         (2, FIRST_HOUR))])
    db.dispose()
    db = Database.open(_in_zone(postgres_url, zone))
    db.upgrade()
    assert db.current_revision() == db.head_revision()
    with db.read() as session:
        mentions = session.scalars(sa.select(Mention).order_by(Mention.id)).all()
    assert [(m.created_at, m.raw) for m in mentions] == [
        (FETCHED, {"created_at_as_sent": "9999-12-31T23:00:00+00:00"}),
        (FETCHED, {"created_at_as_sent": "0001-01-01T00:00:00+00:00"})]
    db.dispose()


def test_every_connection_stays_in_utc_when_the_pool_hands_it_out_again(postgres_url: str) -> None:
    db = Database.open(_in_zone(postgres_url, "Europe/Berlin"), pool_size=1, max_overflow=0)
    for _ in range(2):  # the second time the pool has rolled the connection back
        with db.engine.connect() as conn:
            assert conn.execute(sa.text("SHOW TIME ZONE")).scalar() == "UTC"
            assert conn.execute(sa.text("SELECT TIMESTAMPTZ '9999-12-31 23:00+00'")).scalar() == LAST_HOUR
    db.dispose()
