"""incidents: merging one into another

Revision ID: 0011
Revises: 0010

Detection can open two incidents for one problem, worded two ways ("tracking link broken", "tracking
page error 500"). An agent merges one into the other: its mentions move, and the merged incident
keeps its row (status ``merged``) and says where they went, so its alert and audit entries still
lead somewhere.
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("merged_into_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f("fk_incidents_merged_into_id_incidents"), "incidents",
                                    ["merged_into_id"], ["id"], ondelete="SET NULL")


def downgrade() -> None:
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_incidents_merged_into_id_incidents"), type_="foreignkey")
        batch_op.drop_column("merged_into_id")
