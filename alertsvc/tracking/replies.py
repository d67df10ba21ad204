"""Free-text replies residents send back (an SMS that is no keyword): kept against the alert they answer, for
dispatchers to read (:func:`alertsvc.tracking.responses.responses_for` reads them back)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from alertsvc.store.models import Reply

__all__ = ["MAX_REPLY_CHARS", "record_reply"]

MAX_REPLY_CHARS = 1600
"""Twilio's limit for one inbound message; a longer body (concatenated parts) is kept up to it."""


async def record_reply(
    session: AsyncSession, alert_id: str | None, contact_id: int, channel: str, body: str, at: datetime
) -> None:
    """Keep a reply in the caller's transaction; ``alert_id`` is None when the contact was sent no recent alert."""
    session.add(Reply(alert_id=alert_id, contact_id=contact_id, channel=channel, body=body[:MAX_REPLY_CHARS], at=at))
