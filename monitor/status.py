"""What `mentiondesk status` (and later the dashboard) shows: connector health and mention counts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from monitor.alerts.records import AlertEventView, AlertSummary, alert_summary, recent_events
from monitor.config import Config
from monitor.ingest import usage_today
from monitor.models import ConnectorStatus, Mention, utcnow
from monitor.storage import Database
from monitor.workers import WorkerView, recent_workers


@dataclass(frozen=True)
class ConnectorHealth:
    name: str
    enabled: bool
    poll_interval_seconds: float
    last_poll_at: datetime | None
    last_success_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    consecutive_failures: int
    backoff_until: datetime | None
    mentions_stored: int
    reads_today: int
    daily_read_cap: int | None


@dataclass(frozen=True)
class StatusReport:
    database: str
    schema_revision: str | None
    # Why this database falls short of text in any script (a PostgreSQL encoding or LC_CTYPE); None where not.
    search_case_warning: str | None
    connectors: list[ConnectorHealth]
    mentions_total: int
    mentions_by_platform: dict[str, int]
    mentions_by_status: dict[str, int]
    unclassified: int
    # Of those, claimed by a classify worker now (its model is running on them).
    classifying: int
    alerts: AlertSummary
    workers: list[WorkerView]
    recent_alerts: list[AlertEventView]


def collect_status(db: Database, config: Config) -> StatusReport:
    with db.read() as session:
        rows = {s.connector: s for s in session.scalars(select(ConnectorStatus))}
        health = []
        for cc in config.connectors.values():
            s = rows.get(cc.name)
            health.append(
                ConnectorHealth(
                    name=cc.name,
                    enabled=cc.settings.enabled,
                    poll_interval_seconds=cc.settings.poll_interval_seconds,
                    last_poll_at=s.last_poll_finished_at if s else None,
                    last_success_at=s.last_success_at if s else None,
                    last_error=s.last_error if s else None,
                    last_error_at=s.last_error_at if s else None,
                    consecutive_failures=s.consecutive_failures if s else 0,
                    backoff_until=s.backoff_until if s else None,
                    mentions_stored=s.mentions_stored if s else 0,
                    reads_today=usage_today(session, cc.name),
                    daily_read_cap=cc.settings.daily_read_cap,
                )
            )
        by_platform = dict(session.execute(select(Mention.platform, func.count()).group_by(Mention.platform)).all())
        by_status = dict(session.execute(select(Mention.status, func.count()).group_by(Mention.status)).all())
        unclassified, classifying = session.execute(
            select(func.count(), func.count().filter(Mention.classify_claimed_until > utcnow()))
            .where(Mention.classified_at.is_(None))).one()
    return StatusReport(
        database=db.display_url,
        schema_revision=db.current_revision(),
        search_case_warning=db.search_case_warning(),
        connectors=health,
        mentions_total=sum(by_platform.values()),
        mentions_by_platform=by_platform,
        mentions_by_status=by_status,
        unclassified=unclassified,
        classifying=classifying,
        alerts=alert_summary(db, utcnow(), targets=[t.name for t in config.alert_targets]),
        recent_alerts=recent_events(db, limit=5),
        workers=recent_workers(db, limit=10),
    )
