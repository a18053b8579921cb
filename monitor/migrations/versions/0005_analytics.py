"""analytics: covering indexes for the per-range aggregates and the backlog

Revision ID: 0005
Revises: 0004

The analytics page groups the mentions of a date range by day, platform, brand, language, sentiment
and intent, and works out SLA outcomes from priority, first response, assignee and status. With
every one of those columns in one index that starts with ``created_at``, SQLite
answers those GROUP BYs from the index alone instead of reading each row of a busy month.
The backlog (unanswered open work, by age) is read from a second one, led by ``first_response_at``.
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_COLUMNS = ["created_at", "brand_id", "platform", "lang", "sentiment_label", "human_sentiment_label", "intent",
            "human_intent", "priority", "first_response_at", "assignee", "status"]
_BACKLOG = ["first_response_at", "status", "brand_id", "platform", "created_at"]


def upgrade() -> None:
    op.create_index("ix_mentions_analytics", "mentions", _COLUMNS)
    op.create_index("ix_mentions_backlog", "mentions", _BACKLOG)


def downgrade() -> None:
    op.drop_index("ix_mentions_backlog", table_name="mentions")
    op.drop_index("ix_mentions_analytics", table_name="mentions")
