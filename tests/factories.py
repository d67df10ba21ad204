"""Factory functions for test data: CAP alerts (JSON form and XML) and residents."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alertsvc.clock import utcnow
from alertsvc.store.models import Contact, Resident

SQUARE = "45.0,-73.0 45.0,-72.0 46.0,-72.0 46.0,-73.0 45.0,-73.0"
"""A 1°×1° square around lat 45.5, lon -72.5, in CAP's lat,lon order."""


def cap_time(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(microsecond=0).isoformat()


def cap_alert(
    *,
    identifier: str | None = None,
    sender: str = "ops@city.example",
    status: str = "Actual",
    msg_type: str = "Alert",
    polygon: str | None = SQUARE,
    circle: str | None = None,
    geocodes: list[tuple[str, str]] | None = None,
    infos: list[dict[str, Any]] | None = None,
    expires_in: timedelta = timedelta(hours=2),
    sent: datetime | None = None,
    references: str | None = None,
    severity: str = "Severe",
    category: str = "Safety",
) -> dict[str, Any]:
    """A valid CAP alert in JSON form: one English info over a 1° square unless told otherwise."""
    now = sent or utcnow()
    area: dict[str, Any] = {"areaDesc": "Test area"}
    if polygon:
        area["polygon"] = [polygon]
    if circle:
        area["circle"] = [circle]
    if geocodes:
        area["geocode"] = [{"valueName": name, "value": value} for name, value in geocodes]
    default_info = {
        "language": "en-US",
        "category": [category],
        "event": "Gas leak",
        "urgency": "Immediate",
        "severity": severity,
        "certainty": "Observed",
        "expires": cap_time(now + expires_in),
        "senderName": "City Safety Office",
        "headline": "Gas leak: leave the area",
        "description": "A gas main has ruptured near the square.",
        "instruction": "Leave the area now and keep away from the square.",
        "area": [area],
    }
    document: dict[str, Any] = {
        "identifier": identifier or f"TEST-{uuid.uuid4().hex[:12]}",
        "sender": sender,
        "sent": cap_time(now),
        "status": status,
        "msgType": msg_type,
        "scope": "Public",
        "info": infos if infos is not None else [default_info],
    }
    if references:
        document["references"] = references
    return document


def info_in(language: str, headline: str, polygon: str = SQUARE, **extra: Any) -> dict[str, Any]:
    info = {
        "language": language,
        "category": ["Safety"],
        "event": "Gas leak",
        "urgency": "Immediate",
        "severity": "Severe",
        "certainty": "Observed",
        "expires": cap_time(utcnow() + timedelta(hours=2)),
        "headline": headline,
        "description": headline,
        "area": [{"areaDesc": "Test area", "polygon": [polygon]}],
    }
    info.update(extra)
    return info


async def add_resident(
    sessions: async_sessionmaker[AsyncSession],
    lat: float,
    lon: float,
    *,
    ref: str | None = None,
    language: str = "en",
    sms: str | None = None,
    email: str | None = None,
    push: str | None = None,
    confirmed: bool = True,
    opted_out: bool = False,
    test_recipient: bool = False,
    **preferences: Any,
) -> Resident:
    """A resident with the given contacts, straight into the database."""
    async with sessions() as session, session.begin():
        resident = Resident(
            ref=ref or f"r-{uuid.uuid4().hex[:10]}", lat=lat, lon=lon, language=language,
            test_recipient=test_recipient, **preferences,
        )  # fmt: skip
        session.add(resident)
        await session.flush()
        now = utcnow()
        for channel, address in (("sms", sms), ("email", email), ("push", push)):
            if address:
                session.add(
                    Contact(
                        resident_id=resident.id, channel=channel, address=address,
                        confirmed_at=now if confirmed else None, opted_out_at=now if opted_out else None,
                    )
                )  # fmt: skip
    return resident
