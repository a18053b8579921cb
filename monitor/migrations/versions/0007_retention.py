"""retention: when a mention's raw payload was pruned

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN (no table copy): SQLite would drop the search triggers with a copied table.
    op.add_column("mentions", sa.Column("raw_pruned_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("mentions", "raw_pruned_at")
