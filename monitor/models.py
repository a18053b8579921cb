"""The database schema (SQLAlchemy 2.x). Alembic migrations in ``monitor/migrations`` create it."""

from __future__ import annotations

import enum
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC; always returns timezone-aware datetimes (SQLite keeps no zone of its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; mentiondesk stores timezone-aware UTC times")
        return value.astimezone(timezone.utc)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


JSONType = JSON().with_variant(JSONB(), "postgresql")

# Stable constraint names so migrations work the same on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class MentionStatus(str, enum.Enum):
    NEW = "new"
    OPEN = "open"
    PENDING = "pending"
    RESOLVED = "resolved"
    IGNORED = "ignored"
    SPAM = "spam"


class ReplyState(str, enum.Enum):
    DRAFT = "draft"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"  # never sent: withdrawn or replaced by its author, or a cancelled check-in's draft


class Brand(Base):
    __tablename__ = "brands"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Replies to this brand's mentions need an approver's go-ahead (from the config, see sync_brands).
    reply_approval: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Tracked only for comparison (the config's ``competitor``): a post stored under it moves to one of
    # our brands that fetches it too (see monitor.ingest.store_mentions).
    competitor: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    queries: Mapped[list[BrandQuery]] = relationship(back_populates="brand")


class BrandQuery(Base):
    """One search a connector runs for a brand; its cursor lives in :class:`Cursor`."""

    __tablename__ = "brand_queries"
    __table_args__ = (UniqueConstraint("connector", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    brand_id: Mapped[int] = mapped_column(ForeignKey("brands.id", ondelete="CASCADE"))
    connector: Mapped[str] = mapped_column(String(50))
    key: Mapped[str] = mapped_column(String(100))
    definition: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    brand: Mapped[Brand] = relationship(back_populates="queries")


class Cursor(Base):
    __tablename__ = "cursors"

    query_id: Mapped[int] = mapped_column(ForeignKey("brand_queries.id", ondelete="CASCADE"), primary_key=True)
    value: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Mention(Base):
    __tablename__ = "mentions"
    __table_args__ = (
        UniqueConstraint("platform", "external_id"),
        Index("ix_mentions_queue", "status", "priority", "created_at"),
        Index("ix_mentions_brand_created", "brand_id", "created_at"),
        Index("ix_mentions_unclassified", "classified_at", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    brand_id: Mapped[int | None] = mapped_column(ForeignKey("brands.id", ondelete="SET NULL"))
    query_id: Mapped[int | None] = mapped_column(ForeignKey("brand_queries.id", ondelete="SET NULL"))
    platform: Mapped[str] = mapped_column(String(50))
    external_id: Mapped[str] = mapped_column(String(200))
    url: Mapped[str | None] = mapped_column(Text)
    author_handle: Mapped[str | None] = mapped_column(String(200))
    author_name: Mapped[str | None] = mapped_column(String(500))
    author_followers: Mapped[int | None] = mapped_column(BigInteger)
    text: Mapped[str] = mapped_column(Text)
    lang: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    raw: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    # Set when retention cleared ``raw`` (see monitor.retention).
    raw_pruned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    thread_id: Mapped[str | None] = mapped_column(String(200))
    parent_id: Mapped[str | None] = mapped_column(String(200))
    replyable: Mapped[bool] = mapped_column(Boolean, default=False)

    # Model output, filled by the classifier; NULL classified_at means "not classified yet".
    sentiment_label: Mapped[str | None] = mapped_column(String(16))
    sentiment_score: Mapped[float | None] = mapped_column(Float)
    # All three calibrated probabilities (label -> P), which the triage rules read: kept so that
    # `mentiondesk retriage` can apply changed rules without the model. NULL before migration 0012.
    sentiment_scores: Mapped[dict[str, float] | None] = mapped_column(JSONType)
    intent: Mapped[str | None] = mapped_column(String(16))
    needs_response: Mapped[bool | None] = mapped_column(Boolean)
    priority: Mapped[float | None] = mapped_column(Float)
    classified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A classify worker's claim while the model runs (see monitor.classify): not a row lock, so an
    # agent's change to the mention meanwhile does not wait for the model.
    classify_claimed_by: Mapped[str | None] = mapped_column(String(200))
    classify_claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Human corrections, kept apart from the model's output to measure it and to train on.
    human_sentiment_label: Mapped[str | None] = mapped_column(String(16))
    human_intent: Mapped[str | None] = mapped_column(String(16))

    status: Mapped[str] = mapped_column(String(16), default=MentionStatus.NEW.value)
    assignee: Mapped[str | None] = mapped_column(String(200))
    first_response_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    tags: Mapped[list[MentionTag]] = relationship(cascade="all, delete-orphan", lazy="selectin")
    notes: Mapped[list[Note]] = relationship(cascade="all, delete-orphan", order_by="Note.id")
    replies: Mapped[list[Reply]] = relationship(cascade="all, delete-orphan", order_by="Reply.id")


class AlertCheck(Base):
    """A mention classified for a pipeline that alerts and not yet checked for urgent alerts: written
    with its classification, deleted in the transaction that records the check, so a failure in
    between leaves it for the alert engine's sweep (see monitor.alerts.engine)."""

    __tablename__ = "alert_checks"

    mention_id: Mapped[int] = mapped_column(ForeignKey("mentions.id", ondelete="CASCADE"), primary_key=True)


class MentionTag(Base):
    __tablename__ = "mention_tags"
    __table_args__ = (Index("ix_mention_tags_tag", "tag"),)

    mention_id: Mapped[int] = mapped_column(ForeignKey("mentions.id", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(100), primary_key=True)


class Note(Base):
    __tablename__ = "notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mention_id: Mapped[int] = mapped_column(ForeignKey("mentions.id", ondelete="CASCADE"), index=True)
    author: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Reply(Base):
    """A reply to a mention: draft → sending → sent | failed (failed can go back to sending)."""

    __tablename__ = "replies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mention_id: Mapped[int] = mapped_column(ForeignKey("mentions.id", ondelete="CASCADE"), index=True)
    state: Mapped[str] = mapped_column(String(16), default=ReplyState.DRAFT.value)
    body: Mapped[str] = mapped_column(Text)
    author: Mapped[str] = mapped_column(String(200))
    # Sent with the post so a platform or proxy that dedupes can; unique so a retry is the same reply.
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    external_id: Mapped[str | None] = mapped_column(String(200))
    url: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AuditEntry(Base):
    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_mention", "mention_id", "id"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(50))
    mention_id: Mapped[int | None] = mapped_column(ForeignKey("mentions.id", ondelete="SET NULL"))
    details: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)


class ConnectorStatus(Base):
    """What the poller last saw per connector: shown by `mentiondesk status`, honoured after restarts."""

    __tablename__ = "connector_status"

    connector: Mapped[str] = mapped_column(String(50), primary_key=True)
    last_poll_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_poll_finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    backoff_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # "rate_limit" or "error": a one-off poll skips rate-limit back-off only when forced.
    backoff_reason: Mapped[str | None] = mapped_column(String(16))
    mentions_stored: Mapped[int] = mapped_column(BigInteger, default=0)


class ConnectorUsage(Base):
    """Billable reads per connector per UTC day (X bills per post read)."""

    __tablename__ = "connector_usage"

    connector: Mapped[str] = mapped_column(String(50), primary_key=True)
    day: Mapped[str] = mapped_column(String(10), primary_key=True)
    units: Mapped[int] = mapped_column(BigInteger, default=0)


# -- the triage queue (dashboard) ------------------------------------------------------------

# The queue pages by keyset in (priority, created_at, id) order, per filter where one is selective;
# unclassified (NULL priority) mentions come after the rest, ordered by the same index.
Index("ix_mentions_rank", Mention.priority, Mention.created_at, Mention.id)
Index("ix_mentions_created", Mention.created_at, Mention.id)
Index("ix_mentions_assignee_rank", Mention.assignee, Mention.priority, Mention.created_at, Mention.id)
# A rare language is read in queue order from here instead of filtering the whole queue (PostgreSQL).
Index("ix_mentions_lang_rank", Mention.lang, Mention.priority, Mention.created_at, Mention.id)
# The thread context shown with a mention.
Index("ix_mentions_thread", Mention.platform, Mention.thread_id)
# The analytics page's per-range GROUP BYs, answered from the index alone (migration 0005).
Index("ix_mentions_analytics", Mention.created_at, Mention.brand_id, Mention.platform, Mention.lang,
      Mention.sentiment_label, Mention.human_sentiment_label, Mention.intent, Mention.human_intent, Mention.priority,
      Mention.first_response_at, Mention.assignee, Mention.status)
# The analytics backlog: unanswered open work by brand, platform and age (migration 0005).
Index("ix_mentions_backlog", Mention.first_response_at, Mention.status, Mention.brand_id, Mention.platform,
      Mention.created_at)
# The analytics page's top authors: the range's posts loudest first, then those authors' counts (migration 0010).
Index("ix_mentions_reach", Mention.author_followers, Mention.created_at)
Index("ix_mentions_author", Mention.author_handle, Mention.platform, Mention.created_at)


class Presence(Base):
    """Who has a mention open and what they are doing; a row older than its TTL means nobody."""

    __tablename__ = "presence"

    mention_id: Mapped[int] = mapped_column(ForeignKey("mentions.id", ondelete="CASCADE"), primary_key=True)
    user: Mapped[str] = mapped_column(String(200), primary_key=True)
    activity: Mapped[str] = mapped_column(String(16))
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReplyClaim(Base):
    """The one reply that answers a mention, so two people replying at once cannot both post."""

    __tablename__ = "reply_claims"

    mention_id: Mapped[int] = mapped_column(ForeignKey("mentions.id", ondelete="CASCADE"), primary_key=True)
    reply_id: Mapped[int] = mapped_column(ForeignKey("replies.id", ondelete="CASCADE"))
    actor: Mapped[str] = mapped_column(String(200))
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PollLease(Base):
    """Who is polling a query now (until ``expires_at``) and when it was last polled; see monitor.workers."""

    __tablename__ = "poll_leases"

    query_id: Mapped[int] = mapped_column(ForeignKey("brand_queries.id", ondelete="CASCADE"), primary_key=True)
    owner: Mapped[str | None] = mapped_column(String(200))
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_polled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class WorkerRecord(Base):
    """A `mentiondesk run` process and its heartbeat, for `status` and supervisors."""

    __tablename__ = "workers"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    host: Mapped[str] = mapped_column(String(200))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)



# --- users and access (issue 7) ---

class User(Base):
    """A dashboard user; ``role`` is a :class:`monitor.access.Role` value. Disabled users cannot sign in."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    # An argon2 hash; None for a user who only signs in through OIDC.
    password_hash: Mapped[str | None] = mapped_column(String(200))
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class UserSession(Base):
    """A signed-in dashboard session; only a hash of its token is stored."""

    __tablename__ = "user_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SignInFailure(Base):
    """Failed sign-ins per typed name (known or not), shared by every dashboard process."""

    __tablename__ = "sign_in_failures"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ReplyApproval(Base):
    """An approver's go-ahead for a reply on a brand that requires approval."""

    __tablename__ = "reply_approvals"

    reply_id: Mapped[int] = mapped_column(ForeignKey("replies.id", ondelete="CASCADE"), primary_key=True)
    approver: Mapped[str] = mapped_column(String(200))
    approved_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

# Registers the alert_events table in Base.metadata (kept with the alerts package).
from monitor.alerts import models as _alert_models  # noqa: E402,F401


# --- incidents, follow-ups (issue 11) ---

class MentionEmbedding(Base):
    """A mention's multilingual sentence embedding (float16), kept for incident candidates only."""

    __tablename__ = "mention_embeddings"

    mention_id: Mapped[int] = mapped_column(ForeignKey("mentions.id", ondelete="CASCADE"), primary_key=True)
    vector: Mapped[bytes] = mapped_column(LargeBinary)


class IncidentStatus(str, enum.Enum):
    OPEN = "open"
    RESOLVED = "resolved"
    MERGED = "merged"  # its mentions moved to the incident in ``merged_into_id``


class Incident(Base):
    """Related negative mentions (any language or platform) grouped into one problem to handle once."""

    __tablename__ = "incidents"
    __table_args__ = (Index("ix_incidents_status", "status", "brand_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    brand_id: Mapped[int | None] = mapped_column(ForeignKey("brands.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default=IncidentStatus.OPEN.value)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    mention_count: Mapped[int] = mapped_column(Integer, default=0)
    reach: Mapped[int] = mapped_column(BigInteger, default=0)  # followers summed over distinct authors
    # The summary shown and alerted: {"terms": [...], "languages": {...}, "platforms": {...}, "examples": [ids]}
    summary: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    reply_template: Mapped[str | None] = mapped_column(String(200))  # the bulk reply, once started
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by: Mapped[str | None] = mapped_column(String(200))
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id", ondelete="SET NULL"))


class IncidentMention(Base):
    """Membership: a mention belongs to at most one incident."""

    __tablename__ = "incident_mentions"
    __table_args__ = (Index("ix_incident_mentions_incident", "incident_id", "mention_id"),)

    mention_id: Mapped[int] = mapped_column(ForeignKey("mentions.id", ondelete="CASCADE"), primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    similarity: Mapped[float] = mapped_column(Float)
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class FollowUp(Base):
    """A pending mention that comes back to the queue (reopened) at ``due_at``."""

    __tablename__ = "follow_ups"
    __table_args__ = (Index("ix_follow_ups_due", "done_at", "due_at"),)

    mention_id: Mapped[int] = mapped_column(ForeignKey("mentions.id", ondelete="CASCADE"), primary_key=True)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    set_by: Mapped[str] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CheckInState(str, enum.Enum):
    SCHEDULED = "scheduled"  # waiting for due_at
    DUE = "due"  # due: waiting for an agent's approval
    SENDING = "sending"  # approved: its reply is being sent, or waits for a person to check its outcome
    SENT = "sent"  # approved and posted (see its reply)
    CANCELLED = "cancelled"  # its reply is cancelled too


class CheckIn(Base):
    """A check-in reply scheduled when an item was resolved; an agent approves it before it is sent."""

    __tablename__ = "check_ins"
    __table_args__ = (Index("ix_check_ins_state_due", "state", "due_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mention_id: Mapped[int] = mapped_column(ForeignKey("mentions.id", ondelete="CASCADE"), index=True)
    # The draft to send; looked up from the reply on every send (monitor.replies).
    reply_id: Mapped[int] = mapped_column(ForeignKey("replies.id", ondelete="CASCADE"), index=True)
    state: Mapped[str] = mapped_column(String(16), default=CheckInState.SCHEDULED.value)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    scheduled_by: Mapped[str] = mapped_column(String(200))
    approved_by: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
