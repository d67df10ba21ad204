"""The application's one clock: ``utcnow()``, the current time as an aware UTC datetime.

A leaf module (the standard library only) so that every layer may import it, from the routers down to the column
defaults in :mod:`alertsvc.store.models`. Every timestamp the service stores or compares is aware and in UTC,
because SQLite keeps no time zone and comparing a naive datetime with an aware one raises. (The delivery adapters
in ``channels/`` import nothing of alertsvc and read ``datetime.now(UTC)`` themselves.)
"""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["utcnow"]


def utcnow() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)
