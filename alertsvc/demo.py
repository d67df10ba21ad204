"""``alertsvc demo``: a made-up city to click through, with residents spread over its named zones.

Residents get fictional contacts (555 numbers, ``example.org`` addresses, ntfy topics) that only the sandbox
providers ever see; ``alertsvc demo`` therefore always serves with ``ALERTSVC_SANDBOX=1``. Loading is idempotent:
residents are ``demo-N`` and existing ones are left as they are.
"""

from __future__ import annotations

import random
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alertsvc.security.audit import record
from alertsvc.settings import Settings
from alertsvc.store.models import Contact, Resident
from alertsvc.store.types import utcnow

CITY_BOX = (45.47, -73.60, 45.52, -73.54)
"""(min_lat, min_lon, max_lat, max_lon) of config/zones/example-city.geojson."""
LANGUAGES = ("en", "en", "en", "fr", "fr", "es")
CATEGORIES = (None, None, None, "Safety,Fire", "Met,Env", "Health")
BATCH = 1000


async def load_demo(sessions: async_sessionmaker[AsyncSession], settings: Settings, residents: int = 3000) -> str:
    """Add ``residents`` demo residents (seeded, so every run gives the same city)."""
    del settings
    rng = random.Random(2026)
    async with sessions() as session, session.begin():
        existing = int(await session.scalar(select(func.count()).where(Resident.ref.like("demo-%"))) or 0)
    added = 0
    now = utcnow()
    for start in range(existing, residents, BATCH):
        stop = min(residents, start + BATCH)
        async with sessions() as session, session.begin():
            people: list[Resident] = []
            for n in range(start, stop):
                people.append(
                    Resident(
                        ref=f"demo-{n}",
                        lat=rng.uniform(CITY_BOX[0], CITY_BOX[2]),
                        lon=rng.uniform(CITY_BOX[1], CITY_BOX[3]),
                        language=rng.choice(LANGUAGES),
                        categories=rng.choice(CATEGORIES),
                        test_recipient=n % 50 == 0,
                    )
                )
            session.add_all(people)
            await session.flush()
            contacts: list[dict[str, Any]] = []
            for person, n in zip(people, range(start, stop), strict=True):
                contacts.append({"channel": "sms", "address": f"+1{514 + n // 10000}555{n % 10000:04d}"})
                if n % 2 == 0:
                    contacts.append({"channel": "email", "address": f"resident{n}@example.org"})
                if n % 5 == 0:
                    contacts.append({"channel": "push", "address": f"ntfy://alertsvc-demo-{n}"})
                for contact in contacts:
                    session.add(Contact(resident_id=person.id, confirmed_at=now, **contact))
                contacts.clear()
            await record(session, "cli", "demo.load", "resident", None, {"from": start, "to": stop})
        added += stop - start
    return f"demo city loaded: {added} residents added ({existing} were there already)"
