"""triage queue: queue indexes, presence, reply claims

Revision ID: 0002
Revises: 0001
"""

from alembic import op
import sqlalchemy as sa

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_mentions_rank", "mentions", ["priority", "created_at", "id"])
    op.create_index("ix_mentions_created", "mentions", ["created_at", "id"])
    op.create_index("ix_mentions_assignee_rank", "mentions", ["assignee", "priority", "created_at", "id"])
    op.create_index("ix_mentions_thread", "mentions", ["platform", "thread_id"])
    op.create_table(
        "presence",
        sa.Column("mention_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("user", sa.String(length=200), nullable=False),
        sa.Column("activity", sa.String(length=16), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["mention_id"], ["mentions.id"], name=op.f("fk_presence_mention_id_mentions"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("mention_id", "user", name=op.f("pk_presence")),
    )
    op.create_table(
        "reply_claims",
        sa.Column("mention_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("reply_id", sa.Integer(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["mention_id"], ["mentions.id"], name=op.f("fk_reply_claims_mention_id_mentions"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["reply_id"], ["replies.id"], name=op.f("fk_reply_claims_reply_id_replies"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("mention_id", name=op.f("pk_reply_claims")),
    )


def downgrade() -> None:
    op.drop_table("reply_claims")
    op.drop_table("presence")
    op.drop_index("ix_mentions_thread", table_name="mentions")
    op.drop_index("ix_mentions_assignee_rank", table_name="mentions")
    op.drop_index("ix_mentions_created", table_name="mentions")
    op.drop_index("ix_mentions_rank", table_name="mentions")
