"""mentions: a claim on classification that is not a row lock

Revision ID: 0013
Revises: 0012

On PostgreSQL each classify worker held ``FOR UPDATE`` on its read's rows while the model ran
(seconds), so an agent's change to a mention still waiting for its sentiment (its status, a note,
a tag, a reply draft) waited that long. A worker now marks its rows claimed until a time, in a short
transaction, and runs the model outside any transaction; a killed worker's claims just run out,
and a worker whose write failed takes its own claims again at once.
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("mentions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("classify_claimed_by", sa.String(200), nullable=True))
        batch_op.add_column(sa.Column("classify_claimed_until", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("mentions", schema=None) as batch_op:
        batch_op.drop_column("classify_claimed_until")
        batch_op.drop_column("classify_claimed_by")
