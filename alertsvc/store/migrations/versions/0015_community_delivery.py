"""community delivery: community messages (invitations, reminders, responses) actually sent and tracked (issue 22)

Revision ID: 0015
Revises: 0014

Why: reserved for community messages (invitations, reminders, responses) actually sent and tracked (issue 22);
filled in by the change that needs it.
"""

from __future__ import annotations

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Nothing yet: the revision number is reserved so parallel changes keep one linear history."""


def downgrade() -> None:
    """Nothing yet (see :func:`upgrade`)."""
