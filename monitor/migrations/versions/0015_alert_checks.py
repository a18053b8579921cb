"""alert_checks: classified mentions not yet checked for alerts; check-ins found by their reply

Revision ID: 0015
Revises: 0014

The pipeline classified mentions read by read, committing each, but handed their ids to the alert
engine only once every read was done: a read that failed later (or the alert step itself failing)
left the earlier reads classified and never checked for urgent alerts. The classifier now writes a
row here with each classification and the engine deletes it in the transaction that records the
check; its tick sweeps what is left. Mentions stored before start with none: they were checked.

A check-in's reply is sent only while its check-in is due, and every reply outcome moves its
check-in on, so each send looks a check-in up by ``reply_id``: indexed. Check-ins stored out of step
with their reply are put in step: one whose reply was posted is sent (it stayed due for good, or was
marked cancelled after it went out), one whose reply's outcome is still unknown is sending, and a
cancelled check-in's draft is cancelled too (it could still be approved and posted).
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

check_ins = sa.table("check_ins", sa.column("state", sa.String), sa.column("reply_id", sa.Integer))
replies = sa.table("replies", sa.column("id", sa.Integer), sa.column("state", sa.String))
_OUT_OF_STEP = ("due", "cancelled")  # where a check-in whose reply went out (or may have) was left


def _reply_is(*states: str) -> sa.Exists:
    return sa.exists().where(replies.c.id == check_ins.c.reply_id, replies.c.state.in_(states))


def upgrade() -> None:
    op.create_table(
        "alert_checks",
        sa.Column("mention_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(["mention_id"], ["mentions.id"], name=op.f("fk_alert_checks_mention_id_mentions"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("mention_id", name=op.f("pk_alert_checks")),
    )
    op.create_index(op.f("ix_check_ins_reply_id"), "check_ins", ["reply_id"])
    for state in ("sent", "sending"):
        op.execute(check_ins.update().where(check_ins.c.state.in_(_OUT_OF_STEP), _reply_is(state))
                   .values(state=state))
    cancelled = sa.exists().where(check_ins.c.reply_id == replies.c.id, check_ins.c.state == "cancelled")
    op.execute(replies.update().where(replies.c.state.in_(("draft", "failed")), cancelled)
               .values(state="cancelled"))


def downgrade() -> None:
    # The states before 0015 knew no check-in being sent nor cancelled reply.
    op.execute(check_ins.update().where(check_ins.c.state == "sending").values(state="due"))
    op.execute(replies.update().where(replies.c.state == "cancelled").values(state="draft"))
    op.drop_index(op.f("ix_check_ins_reply_id"), table_name="check_ins")
    op.drop_table("alert_checks")
