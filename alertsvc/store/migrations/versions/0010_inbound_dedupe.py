"""inbound_dedupe: inbound provider messages recorded once by their provider id (issue 19)

Revision ID: 0010
Revises: 0009

Why: Twilio posts an inbound SMS to the webhook again (same ``MessageSid``) when the first call timed out or
failed, and may do so after the first one was applied: a STOP was then recorded twice, with two consent records,
and the resident got two replies; a free-text reply was kept twice. ``inbound_messages`` holds the ids of the
inbound messages taken, inserted in the transaction that applies one, so a repeat finds its id and changes nothing
(``alertsvc.residents.inbound``, which owns the table and forgets ids after a few days).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "inbound_messages",
        sa.Column("provider_id", sa.String(length=100), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("provider_id"),
    )
    op.create_index("ix_inbound_messages_received_at", "inbound_messages", ["received_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_inbound_messages_received_at", table_name="inbound_messages")
    op.drop_table("inbound_messages")
