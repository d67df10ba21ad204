"""priorities: residents' priorities per zone and their supports

Revision ID: 0008
Revises: 0007

Why: residents propose and support priorities for their zone from their own manage link ("you said, we did"), and
staff give each a status and a response. One support per resident and priority is the supports table's primary
key, so a repeated or concurrent support cannot count twice. New tables only.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "priorities",
        sa.Column("id", BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("zone", sa.String(length=100), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("response", sa.Text(), nullable=True),
        sa.Column("hidden", sa.Boolean(), nullable=False),
        sa.Column("proposed_by", BIG_ID, sa.ForeignKey("residents.id", ondelete="SET NULL"), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_priorities_zone", "priorities", ["zone"], unique=False)
    op.create_table(
        "priority_supports",
        sa.Column("priority_id", BIG_ID, sa.ForeignKey("priorities.id", ondelete="CASCADE"), nullable=False),
        sa.Column("resident_id", BIG_ID, sa.ForeignKey("residents.id", ondelete="CASCADE"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("priority_id", "resident_id"),
    )


def downgrade() -> None:
    op.drop_table("priority_supports")
    op.drop_index("ix_priorities_zone", table_name="priorities")
    op.drop_table("priorities")
