"""resident cells: resident counts per grid cell for the reach and the density map (issue 21)

Revision ID: 0016
Revises: 0015

Why: reserved for resident counts per grid cell for the reach and the density map (issue 21);
filled in by the change that needs it.
"""

from __future__ import annotations

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Nothing yet: the revision number is reserved so parallel changes keep one linear history."""


def downgrade() -> None:
    """Nothing yet (see :func:`upgrade`)."""
