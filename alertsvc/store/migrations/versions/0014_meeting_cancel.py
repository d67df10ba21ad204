"""meetings.cancelled_at, cancelled_by, sequence: a meeting that is called off stays listed as cancelled (issue 22)

Revision ID: 0014
Revises: 0013

Why: cancelling a meeting deleted it, so it vanished from the zone page and the calendar feed without a word, and a
calendar that had subscribed kept the event until its next refresh dropped it (if it ever did). The meeting now
stays, marked cancelled (when and by whom), and the iCalendar feed publishes it with ``STATUS:CANCELLED`` under the
same UID and a higher ``SEQUENCE`` (RFC 5545 3.8.7.4), so subscribed calendars update the event in place. The
sequence also moves on each change of a meeting, for the same reason. Existing meetings start at 0, not cancelled.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("meetings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("cancelled_by", sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column("sequence", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("meetings", schema=None) as batch_op:
        batch_op.drop_column("sequence")
        batch_op.drop_column("cancelled_by")
        batch_op.drop_column("cancelled_at")
