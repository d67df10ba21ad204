"""visible text cleanup: stored alert texts cleaned of hidden characters refused since issue 17

Revision ID: 0017
Revises: 0016

Why: reserved for stored alert texts cleaned of hidden characters refused since issue 17;
filled in by the change that needs it.
"""

from __future__ import annotations

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Nothing yet: the revision number is reserved so parallel changes keep one linear history."""


def downgrade() -> None:
    """Nothing yet (see :func:`upgrade`)."""
