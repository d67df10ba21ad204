"""Named zones (neighbourhoods, police beats, school districts) that an alert can target by name.

Dispatchers think in places, not coordinates: "the Old Mill neighbourhood". Zones are loaded from GeoJSON
``FeatureCollection`` files (``config/zones/*.geojson``), one Feature per zone, ``properties.name`` unique
across all files (compared case-insensitively, so ``old mill`` and ``Old Mill`` cannot both exist and either
spelling finds it). Geometry goes through :mod:`alertsvc.geo.areas`, so a zone is held to the same rules as
a drawn polygon: valid, closed, never repaired.

CAP convention: an ``<area>`` targets a zone with a ``<geocode>`` whose ``valueName`` is ``zone`` (or
``alertsvc:zone``) and whose ``value`` is the zone's name. Other geocodes (SAME, FIPS, EMMA_ID, ...) are
left to whoever understands them; :func:`resolve_geocodes` ignores them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alertsvc.geo.areas import AreaError, PolygonArea, polygons_from_geojson_geometry

ZONE_VALUE_NAMES = frozenset({"zone", "alertsvc:zone"})
"""CAP ``geocode/valueName`` values (compared case-insensitively) that name an alertsvc zone."""


def zone_key(name: str) -> str:
    """The lookup key for a zone name: surrounding spaces and letter case do not make a different zone."""
    return name.strip().casefold()


@dataclass(frozen=True)
class Zone:
    """A named area made of one or more polygons (a MultiPolygon: e.g. a neighbourhood with an island)."""

    name: str
    polygons: list[PolygonArea]
    properties: dict[str, Any] = field(default_factory=dict)
    source: str = ""
    """Where the zone came from (file name), for error messages."""

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise AreaError("a zone needs a non-empty name")
        if not self.polygons:
            raise AreaError(f"zone '{self.name}' has no polygons")


def _feature_error(index: int, name: object, reason: str) -> AreaError:
    label = f"feature {index}" + (f" ('{name}')" if isinstance(name, str) and name.strip() else "")
    return AreaError(f"{label}: {reason}")


def _zone_from_feature(index: int, feature: object, source: str) -> Zone:
    if not isinstance(feature, Mapping) or feature.get("type") != "Feature":
        raise _feature_error(index, None, "is not a GeoJSON Feature")
    properties = feature.get("properties")
    if not isinstance(properties, Mapping):
        raise _feature_error(index, None, "has no properties object")
    name = properties.get("name")
    if not isinstance(name, str) or not name.strip():
        raise _feature_error(index, None, "properties.name must be a non-empty string")
    geometry = feature.get("geometry")
    if not isinstance(geometry, dict):
        raise _feature_error(index, name, "geometry must be a GeoJSON Polygon or MultiPolygon")
    try:
        polygons = polygons_from_geojson_geometry(geometry)
    except AreaError as exc:
        raise _feature_error(index, name, str(exc)) from None
    except (TypeError, KeyError, AttributeError):
        # areas.py reads positions by index; odd JSON (objects as positions) fails before its own checks
        raise _feature_error(index, name, "GeoJSON ring positions must be [lon, lat] number pairs") from None
    if not polygons:
        raise _feature_error(index, name, "geometry has no polygons")
    return Zone(name=name.strip(), polygons=polygons, properties=dict(properties), source=source)


def zones_from_geojson(data: object, source: str = "") -> list[Zone]:
    """Parse a GeoJSON FeatureCollection into zones, reporting the first bad feature by index and reason.

    Names must be unique within the collection (case-insensitively). ``source`` prefixes error messages.
    """
    prefix = f"{source}: " if source else ""
    if not isinstance(data, Mapping) or data.get("type") != "FeatureCollection":
        raise AreaError(f"{prefix}zones must be a GeoJSON FeatureCollection")
    features = data.get("features")
    if not isinstance(features, list):
        raise AreaError(f"{prefix}FeatureCollection has no 'features' list")
    zones: list[Zone] = []
    seen: dict[str, int] = {}
    for index, feature in enumerate(features):
        try:
            zone = _zone_from_feature(index, feature, source)
        except AreaError as exc:
            raise AreaError(f"{prefix}{exc}") from None
        key = zone_key(zone.name)
        if key in seen:
            raise AreaError(f"{prefix}feature {index}: zone name '{zone.name}' repeats feature {seen[key]}")
        seen[key] = index
        zones.append(zone)
    return zones


class ZoneRegistry:
    """All known zones by case-insensitive name. Built at start-up; read-only in practice afterwards."""

    def __init__(self, zones: Iterable[Zone] = ()) -> None:
        self._zones: dict[str, Zone] = {}
        for zone in zones:
            self.add(zone)

    @classmethod
    def from_geojson(cls, data: object, source: str = "") -> ZoneRegistry:
        """A registry holding the zones of one FeatureCollection."""
        return cls(zones_from_geojson(data, source))

    @classmethod
    def from_dir(cls, path: str | Path) -> ZoneRegistry:
        """A registry holding the zones of every ``*.geojson`` file in ``path``."""
        registry = cls()
        registry.load_dir(path)
        return registry

    def add(self, zone: Zone) -> None:
        """Register ``zone``; a name already taken (ignoring case) is an error, never a silent overwrite."""
        self._refuse_duplicate(zone)
        self._zones[zone_key(zone.name)] = zone

    def _refuse_duplicate(self, zone: Zone) -> None:
        existing = self.find(zone.name)
        if existing is not None:
            here = f"{zone.source}: " if zone.source else ""
            there = f" (already defined in {existing.source})" if existing.source else ""
            raise AreaError(f"{here}zone '{zone.name}' is defined twice{there}")

    def add_geojson(self, data: object, source: str = "") -> list[Zone]:
        """Parse and register a FeatureCollection; nothing is registered if any feature is bad."""
        zones = zones_from_geojson(data, source)
        for zone in zones:
            self._refuse_duplicate(zone)
        for zone in zones:
            self.add(zone)
        return zones

    def load_file(self, path: str | Path) -> list[Zone]:
        """Register the zones of one GeoJSON file; errors name the file."""
        file = Path(path)
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise AreaError(f"{file.name}: cannot read zones ({exc})") from None
        return self.add_geojson(data, source=file.name)

    def load_dir(self, path: str | Path) -> list[Zone]:
        """Register the zones of every ``*.geojson`` file in ``path`` (sorted, so errors are reproducible)."""
        directory = Path(path)
        if not directory.is_dir():
            raise AreaError(f"zone directory {directory} does not exist")
        loaded: list[Zone] = []
        for file in sorted(directory.glob("*.geojson")):
            loaded.extend(self.load_file(file))
        return loaded

    def find(self, name: str) -> Zone | None:
        """The zone called ``name`` (any case), or None."""
        return self._zones.get(zone_key(name))

    def get(self, name: str) -> Zone:
        """The zone called ``name`` (any case); unknown names raise ``AreaError("unknown zone 'name'")``."""
        zone = self.find(name)
        if zone is None:
            raise AreaError(f"unknown zone '{name}'")
        return zone

    def names(self) -> list[str]:
        """Zone names as written in their files, sorted case-insensitively (for pickers in the console)."""
        return sorted((zone.name for zone in self._zones.values()), key=zone_key)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and zone_key(name) in self._zones

    def __iter__(self) -> Iterator[Zone]:
        return iter(self._zones.values())

    def __len__(self) -> int:
        return len(self._zones)


def is_zone_geocode(value_name: str) -> bool:
    """Whether a CAP geocode ``valueName`` refers to an alertsvc zone."""
    return value_name.strip().casefold() in ZONE_VALUE_NAMES


def resolve_geocodes(registry: ZoneRegistry, geocodes: Iterable[tuple[str, str]]) -> list[PolygonArea]:
    """The polygons of every zone named by ``(valueName, value)`` geocodes of one CAP area.

    Zone geocodes with an unknown name raise ``AreaError("unknown zone 'x'")``: an alert aimed at a place we
    cannot draw must be refused, not sent to nobody. Other geocodes are ignored. A zone named twice
    contributes its polygons once.
    """
    polygons: list[PolygonArea] = []
    used: set[str] = set()
    for value_name, value in geocodes:
        if not is_zone_geocode(value_name):
            continue
        zone = registry.get(value)
        key = zone_key(zone.name)
        if key not in used:
            used.add(key)
            polygons.extend(zone.polygons)
    return polygons
