"""help_handled: need-help answers marked handled by a named staff member (issue 20)

Revision ID: 0012
Revises: 0011

Why: a resident who answered "need help" is a task for a dispatcher, and a team working through the list must see
which ones someone has taken care of, who, and when, so two people do not call the same resident while a third is
forgotten. One row per (alert, resident): the primary key makes a repeated or concurrent "handled" one mark, not
two. A new table rather than columns on ``acknowledgements``: the answer is the resident's (its owner updates it
when they answer again), the mark is staff's (its owner is ``alertsvc.tracking.help_requests``); the page compares
the two times to show a resident who asked again after being handled. New table only.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "help_handled",
        sa.Column("alert_id", sa.String(length=36), sa.ForeignKey("alerts.id", ondelete="CASCADE"), nullable=False),
        sa.Column("resident_id", BIG_ID, sa.ForeignKey("residents.id", ondelete="CASCADE"), nullable=False),
        sa.Column("handled_by", sa.String(length=120), nullable=False),
        sa.Column("handled_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("alert_id", "resident_id"),
    )


def downgrade() -> None:
    op.drop_table("help_handled")
