"""early_callbacks: a provider's report on a message whose send is not recorded yet is kept, not lost

Revision ID: 0005
Revises: 0004

Why: the worker records a batch's provider ids once the batch is sent, and Twilio may report on a message
(``sent``, then ``delivered`` or ``failed``) seconds before that, even before it answers the request that created
the message. Such a report matched no delivery, was answered 204 and lost: the delivery stayed ``sent`` for ever
and a real failure was never seen. Now a final report that matches no row is kept here, keyed by the provider id,
and applied when the record lands (``alertsvc.tracking.machine``); the sweeper drops what no record claimed in time.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "early_callbacks",
        sa.Column("provider_id", sa.String(length=100), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("error_code", sa.String(length=40), nullable=True),
        sa.Column("reason", sa.String(length=300), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("provider_id"),
    )
    op.create_index("ix_early_callbacks_received_at", "early_callbacks", ["received_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_early_callbacks_received_at", table_name="early_callbacks")
    op.drop_table("early_callbacks")
