"""meeting cancel: a meeting that is called off stays listed as cancelled (issue 22)

Revision ID: 0014
Revises: 0013

Why: reserved for a meeting that is called off stays listed as cancelled (issue 22);
filled in by the change that needs it.
"""

from __future__ import annotations

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Nothing yet: the revision number is reserved so parallel changes keep one linear history."""


def downgrade() -> None:
    """Nothing yet (see :func:`upgrade`)."""
