"""community: residents' choice of community messages, meetings, and the community messages planned for residents

Revision ID: 0006
Revises: 0005

Why: warnings and community messages (meeting invitations, reminders) are separate classes; a resident chooses the
second apart (off until chosen), and a weekly cap and quiet hours apply to it only. New tables only.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "community_consents",
        sa.Column("resident_id", BIG_ID, sa.ForeignKey("residents.id", ondelete="CASCADE"), nullable=False),
        sa.Column("opted_in", sa.Boolean(), nullable=False),
        sa.Column("method", sa.String(length=30), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("resident_id"),
    )
    op.create_table(
        "meetings",
        sa.Column("id", BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("uid", sa.String(length=64), nullable=False, unique=True),
        sa.Column("zone", sa.String(length=100), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("place", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_meetings_zone_starts", "meetings", ["zone", "starts_at"], unique=False)
    op.create_table(
        "community_sends",
        sa.Column("id", BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("resident_id", BIG_ID, sa.ForeignKey("residents.id", ondelete="CASCADE"), nullable=False),
        sa.Column("language", sa.String(length=35), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("subject", "kind", "resident_id", name="uq_community_sends_subject_kind_resident"),
    )
    op.create_index("ix_community_sends_resident_due", "community_sends", ["resident_id", "due_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_community_sends_resident_due", table_name="community_sends")
    op.drop_table("community_sends")
    op.drop_index("ix_meetings_zone_starts", table_name="meetings")
    op.drop_table("meetings")
    op.drop_table("community_consents")
