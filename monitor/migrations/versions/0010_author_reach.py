"""analytics: indexes for the top authors by reach

Revision ID: 0010
Revises: 0009

"Top authors by reach" grouped every author of the range, reading each row of a busy month. With
``ix_mentions_reach`` the range's posts are read loudest first and the walk stops after a few dozen;
``ix_mentions_author`` then counts just those authors' mentions.
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_mentions_reach", "mentions", ["author_followers", "created_at"])
    op.create_index("ix_mentions_author", "mentions", ["author_handle", "platform", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_mentions_author", table_name="mentions")
    op.drop_index("ix_mentions_reach", table_name="mentions")
