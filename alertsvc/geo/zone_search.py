"""Finding named zones by the words of their name, for the compose page's search box ("old m" finds "Old Mill").

The same rule as the address search (:mod:`alertsvc.residents.addresses`): every word of the query must start a
word of the name, ignoring letter case and accents. Zones are few (a city's neighbourhoods, beats, districts) and
held in memory by the :class:`~alertsvc.geo.zones.ZoneRegistry`, so this is a scan, not an index. A match carries
the zone's bounding box, so the map can fit the whole zone rather than centre on a point.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from alertsvc.geo.zones import Zone, ZoneRegistry

__all__ = ["ZONE_RESULTS", "ZoneMatch", "search_zones"]

ZONE_RESULTS = 3
"""Zones listed at most: they come first in the list, above the addresses, and must not push those out of sight."""
MAX_WORDS = 8


@dataclass(frozen=True, slots=True)
class ZoneMatch:
    name: str
    south: float
    west: float
    north: float
    east: float

    @property
    def centre(self) -> tuple[float, float]:
        """(lat, lon) of the middle of the bounding box."""
        return ((self.south + self.north) / 2, (self.west + self.east) / 2)


def _words(text: str) -> list[str]:
    """Lower-case words of letters and digits, accents removed ("Côte-des-Neiges" → côte, des, neiges → cote…)."""
    plain = "".join(c for c in unicodedata.normalize("NFKD", text.casefold()) if not unicodedata.combining(c))
    return "".join(c if c.isalnum() else " " for c in plain).split()


def _bounds(zone: Zone) -> tuple[float, float, float, float]:
    """(south, west, north, east) of all the zone's polygons."""
    boxes = [polygon.bbox() for polygon in zone.polygons]
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


def search_zones(registry: ZoneRegistry, query: str, limit: int = ZONE_RESULTS) -> list[ZoneMatch]:
    """Zones whose name has a word starting with each word of ``query``, names starting with the query's first
    word first, then alphabetically; none for a query without a letter or digit."""
    wanted = _words(query)[:MAX_WORDS]
    if not wanted:
        return []
    found: list[tuple[bool, str, Zone]] = []
    for zone in registry:
        words = _words(zone.name)
        if all(any(word.startswith(w) for word in words) for w in wanted):
            found.append((not words[0].startswith(wanted[0]), zone.name.casefold(), zone))
    found.sort(key=lambda item: (item[0], item[1]))
    return [ZoneMatch(zone.name, *_bounds(zone)) for _, _, zone in found[:limit]]
