"""brands: whether a brand is a competitor, so ingest can prefer our own brand for a post

Revision ID: 0017
Revises: 0016

A post is stored once. Until 2026-12-06 it stayed under the brand whose query stored it first, so a
post naming our brand and a competitor, or @mentioning our account, could be filed under the
competitor (kept out of the triage queue) and not replyable. Ingest now moves a stored post to our
brand when our query fetches it too (`monitor.ingest.store_mentions`), which needs the config's
``competitor`` flag in the database; `sync_brands` sets it on the next start. Posts filed so far
stay where they are: the copy that would have moved them was not kept.
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN (no table copy), as in 0008.
    op.add_column("brands", sa.Column("competitor", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    op.drop_column("brands", "competitor")
