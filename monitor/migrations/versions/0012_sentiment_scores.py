"""mentions: the model's three probabilities

Revision ID: 0012
Revises: 0011

Intent and priority are computed from all three sentiment probabilities, but only the top label and
its score were stored, so a changed ``[triage]`` rule could only reach new mentions. With the three
kept, ``mentiondesk retriage`` applies the rules again without the model.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("mentions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sentiment_scores", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
                                      nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("mentions", schema=None) as batch_op:
        batch_op.drop_column("sentiment_scores")
