"""How many residents and contacts an area reaches, before anything is sent (the targeting preview).

Uses the same stages as fan-out (bounding-box query, exact vectorised test) so the preview and the send can
never disagree about who is inside.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from alertsvc.geo.areas import Area
from alertsvc.geo.targeting import TargetArea, bbox_filter_params
from alertsvc.store.audience import residents_in_boxes
from alertsvc.store.models import Contact

LOOKUP_CHUNK = 5000


@dataclass(frozen=True, slots=True)
class Reach:
    residents: int
    contacts: dict[str, int] = field(default_factory=dict)


async def reach_of(session: AsyncSession, areas: list[Area]) -> Reach:
    """Residents inside ``areas`` and their confirmed, not opted-out contacts per channel."""
    target = TargetArea(areas)
    residents = 0
    contacts = {"sms": 0, "email": 0, "push": 0}
    async for chunk in residents_in_boxes(session, bbox_filter_params(target)):
        inside = chunk.ids[target.contains(chunk.lats, chunk.lons)].tolist()
        residents += len(inside)
        for start in range(0, len(inside), LOOKUP_CHUNK):
            rows = await session.execute(
                select(Contact.channel, func.count())
                .where(
                    Contact.resident_id.in_(inside[start : start + LOOKUP_CHUNK]),
                    Contact.confirmed_at.is_not(None),
                    Contact.opted_out_at.is_(None),
                )
                .group_by(Contact.channel)
            )
            for channel, count in rows:
                contacts[str(channel)] = contacts.get(str(channel), 0) + int(count)
    return Reach(residents, contacts)
