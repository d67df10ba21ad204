"""community delivery: community messages (invitations, reminders, responses) actually sent and tracked (issue 22)

Revision ID: 0015
Revises: 0014

Why: until now a community message was only planned (``community_sends``: who, what, when it may go); nothing sent
it and nothing could say what became of it. The sender (:mod:`alertsvc.community.sending`, the owner of the table;
the job in :mod:`alertsvc.dispatch.community_sender`) needs, per planned message:

* ``state``: ``pending`` (planned, not yet claimed) → ``sending`` (claimed by one worker) → ``sent`` (the provider
  accepted it) | ``failed`` (refused, or the worker stopped mid-send) | ``skipped`` (not to be sent any more: the
  resident turned community messages off or every contact sent STOP, the meeting was cancelled or has started, the
  priority moved on). The claim is one guarded ``UPDATE ... WHERE state = 'pending'``, so two workers never send one
  message twice. Rows planned before this revision are ``pending`` (server default).
* ``channel``, ``provider_id``, ``sent_at``: which of the resident's contacts it went to, the provider's id, when.
* ``error_code`` and ``reason``: why it failed or was skipped, in words staff read.
* ``claimed_at``: when the worker claimed it, so a claim left by a worker that died mid-send is found and closed.

Columns, not a table of their own: a community message goes to one contact of the resident (see the sender), so
its state is the planned row's state; the console counts planned/sent/failed per meeting or priority from it. The
index on (state, due_at) is what the every-minute pick of due messages reads.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

COLUMNS = ("state", "channel", "provider_id", "claimed_at", "sent_at", "error_code", "reason")


def upgrade() -> None:
    with op.batch_alter_table("community_sends", schema=None) as batch_op:
        batch_op.add_column(sa.Column("state", sa.String(length=10), nullable=False, server_default="pending"))
        batch_op.add_column(sa.Column("channel", sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column("provider_id", sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("error_code", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("reason", sa.String(length=200), nullable=True))
        batch_op.create_index("ix_community_sends_state_due", ["state", "due_at"])


def downgrade() -> None:
    with op.batch_alter_table("community_sends", schema=None) as batch_op:
        batch_op.drop_index("ix_community_sends_state_due")
        for column in reversed(COLUMNS):
            batch_op.drop_column(column)
