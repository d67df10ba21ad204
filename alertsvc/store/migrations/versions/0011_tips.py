"""tips: anonymous tips from residents (issue 22)

Revision ID: 0011
Revises: 0010

Why: anyone may send the service an anonymous tip (an SMS starting TIP, or the public form) and staff answer it
through an alias, never seeing who sent it. The tipster's contact is kept only as a keyed hash (to join their
answers to the thread and to honour a block) and sealed (to relay replies); blocks outlive the tips' retention.
New tables only.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "tips",
        sa.Column("id", BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("alias", sa.String(length=20), nullable=False, unique=True),
        sa.Column("zone", sa.String(length=100), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("reply_channel", sa.String(length=10), nullable=True),
        sa.Column("contact_key", sa.String(length=64), nullable=True),
        sa.Column("contact_sealed", sa.Text(), nullable=True),
        sa.Column("language", sa.String(length=35), nullable=False),
        sa.Column("provider_id", sa.String(length=100), nullable=True, unique=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_activity_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_tips_received", "tips", ["received_at"], unique=False)
    op.create_index("ix_tips_contact_key", "tips", ["contact_key"], unique=False)
    op.create_index("ix_tips_zone_received", "tips", ["zone", "received_at"], unique=False)
    op.create_index("ix_tips_last_activity", "tips", ["last_activity_at"], unique=False)
    op.create_table(
        "tip_messages",
        sa.Column("id", BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("tip_id", BIG_ID, sa.ForeignKey("tips.id", ondelete="CASCADE"), nullable=False),
        sa.Column("direction", sa.String(length=3), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("provider_id", sa.String(length=100), nullable=True, unique=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_tip_messages_tip", "tip_messages", ["tip_id", "id"], unique=False)
    op.create_index("ix_tip_messages_state", "tip_messages", ["state"], unique=False)
    op.create_table(
        "tip_blocks",
        sa.Column("contact_key", sa.String(length=64), primary_key=True),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("tip_blocks")
    op.drop_index("ix_tip_messages_state", table_name="tip_messages")
    op.drop_index("ix_tip_messages_tip", table_name="tip_messages")
    op.drop_table("tip_messages")
    op.drop_index("ix_tips_last_activity", table_name="tips")
    op.drop_index("ix_tips_zone_received", table_name="tips")
    op.drop_index("ix_tips_contact_key", table_name="tips")
    op.drop_index("ix_tips_received", table_name="tips")
    op.drop_table("tips")
