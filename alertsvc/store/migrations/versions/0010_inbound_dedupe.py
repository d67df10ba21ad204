"""inbound_dedupe: inbound provider messages recorded once by their provider id (issue 19)

Revision ID: 0010
Revises: 0009

Why: reserved for inbound provider messages recorded once by their provider id (issue 19); filled in by the change that needs it.
"""

from __future__ import annotations

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Nothing yet: the revision number is reserved so parallel changes keep one linear history."""


def downgrade() -> None:
    """Nothing yet (see :func:`upgrade`)."""
