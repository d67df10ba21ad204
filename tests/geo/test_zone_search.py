"""Zones found by the words of their name, as the compose page's search box asks: each word starts a word of the
name, case and accents ignored, names starting with the first word first, at most three, with their bounding box."""

from __future__ import annotations

from typing import Any

from alertsvc.geo.zone_search import search_zones
from alertsvc.geo.zones import ZoneRegistry


def _square(name: str, south: float, west: float, size: float = 0.01) -> dict[str, Any]:
    ring = [[west, south], [west + size, south], [west + size, south + size], [west, south + size], [west, south]]
    return {"type": "Feature", "properties": {"name": name}, "geometry": {"type": "Polygon", "coordinates": [ring]}}


def _registry(*features: dict[str, Any]) -> ZoneRegistry:
    return ZoneRegistry.from_geojson({"type": "FeatureCollection", "features": list(features)})


def test_every_word_must_start_a_word_of_the_name() -> None:
    zones = _registry(
        _square("Old Mill", 45.5, -73.6),
        _square("Mill Creek", 45.6, -73.5),
        _square("Côte-des-Neiges", 45.49, -73.62),
        _square("Harbour Point", 45.4, -73.4),
    )
    assert [z.name for z in search_zones(zones, "old m")] == ["Old Mill"]
    assert [z.name for z in search_zones(zones, "mill")] == ["Mill Creek", "Old Mill"]  # starting with it first
    assert [z.name for z in search_zones(zones, "MILL")] == ["Mill Creek", "Old Mill"]
    assert search_zones(zones, "ill") == []  # inside a word is not a start
    assert [z.name for z in search_zones(zones, "cote nei")] == ["Côte-des-Neiges"]  # accents and hyphens
    assert search_zones(zones, "  -- ") == [] and search_zones(zones, "old x") == []


def test_a_match_has_the_zone_s_bounding_box_and_at_most_three_come_back() -> None:
    island = _square("Park Island", 45.70, -73.70)
    island["geometry"] = {
        "type": "MultiPolygon",
        "coordinates": [
            island["geometry"]["coordinates"],
            _square("x", 45.80, -73.60, 0.02)["geometry"]["coordinates"],
        ],
    }
    zones = _registry(island, *(_square(f"Park {n}", 45.0 + n / 10, -73.0) for n in range(5)))
    found = search_zones(zones, "park")
    assert len(found) == 3
    match = search_zones(zones, "park isl")[0]
    assert (match.south, match.west, match.north, match.east) == (45.70, -73.70, 45.82, -73.58)
    assert match.centre == ((45.70 + 45.82) / 2, (-73.70 + -73.58) / 2)
