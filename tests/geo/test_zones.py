"""Named zones: loading, lookup, CAP geocodes, and bad GeoJSON reported by feature index."""

from __future__ import annotations

import json
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import shapely

from alertsvc.geo.areas import AreaError, LatLon, parse_cap_circle, parse_cap_polygon
from alertsvc.geo.targeting import TargetArea
from alertsvc.geo.zone_reach import zones_reached
from alertsvc.geo.zones import Zone, ZoneRegistry, resolve_geocodes, zones_from_geojson

ZONES_DIR = Path(__file__).resolve().parents[2] / "config" / "zones"
SQUARE = [[-73.6, 45.5], [-73.5, 45.5], [-73.5, 45.6], [-73.6, 45.6], [-73.6, 45.5]]


def feature(name: Any, coordinates: Any = None, kind: str = "Polygon") -> dict[str, Any]:
    return {
        "type": "Feature",
        "properties": {"name": name},
        "geometry": {"type": kind, "coordinates": [SQUARE] if coordinates is None else coordinates},
    }


def collection(*features: Any) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": list(features)}


@pytest.fixture(scope="module")
def city() -> ZoneRegistry:
    return ZoneRegistry.from_dir(ZONES_DIR)


def test_example_city_loads(city: ZoneRegistry) -> None:
    assert 4 <= len(city) <= 6
    assert city.names() == ["Cedar Park", "Fairmount Flats", "Harbour Point", "Maple Heights", "Old Mill"]
    harbour = city.get("Harbour Point")
    assert len(harbour.polygons) == 2  # the mainland part and the island
    assert harbour.properties["kind"] == "neighbourhood"
    assert harbour.source == "example-city.geojson"


def test_example_city_neighbourhoods_do_not_overlap(city: ZoneRegistry) -> None:
    parts = [(zone.name, p.to_shapely()) for zone in city for p in zone.polygons]
    for (name_a, a), (name_b, b) in combinations(parts, 2):
        assert shapely.intersection(a, b).area == pytest.approx(0.0, abs=1e-15), (name_a, name_b)


def test_example_city_is_around_montreal_in_lat_lon_order(city: ZoneRegistry) -> None:
    for zone in city:
        for polygon in zone.polygons:
            min_lat, min_lon, max_lat, max_lon = polygon.bbox()
            assert 45.4 < min_lat < max_lat < 45.6
            assert -73.7 < min_lon < max_lon < -73.5


def test_each_neighbourhood_holds_its_own_residents(city: ZoneRegistry) -> None:
    residents = {
        "Maple Heights": (45.49, -73.59),
        "Old Mill": (45.49, -73.57),
        "Harbour Point": (45.4725, -73.55),  # on the island
        "Cedar Park": (45.51, -73.58),
        "Fairmount Flats": (45.51, -73.55),
    }
    zones = list(city)
    target = TargetArea([p for zone in zones for p in zone.polygons])
    owners = [zone.name for zone in zones for _ in zone.polygons]
    lats = np.array([lat for lat, _ in residents.values()])
    lons = np.array([lon for _, lon in residents.values()])
    matrix = target.matches(lats, lons)
    for row, expected in zip(matrix, residents, strict=True):
        assert {owners[i] for i in np.flatnonzero(row)} == {expected}


def test_shared_edge_belongs_to_both_neighbours(city: ZoneRegistry) -> None:
    on_border = np.array([45.49]), np.array([-73.58])  # Maple Heights | Old Mill
    for name in ("Maple Heights", "Old Mill"):
        assert TargetArea(city.get(name).polygons).contains(*on_border).tolist() == [True]


@pytest.mark.parametrize("spelling", ["Old Mill", "old mill", "OLD MILL", "  Old Mill ", "old MILL"])
def test_lookup_ignores_case(city: ZoneRegistry, spelling: str) -> None:
    assert city.get(spelling).name == "Old Mill"
    assert spelling in city


def test_unknown_zone(city: ZoneRegistry) -> None:
    with pytest.raises(AreaError, match="unknown zone 'Atlantis'"):
        city.get("Atlantis")
    assert city.find("Atlantis") is None
    assert "Atlantis" not in city


def test_resolve_geocodes(city: ZoneRegistry) -> None:
    geocodes = [
        ("SAME", "024510"),
        ("zone", "cedar park"),
        ("alertsvc:zone", "Harbour Point"),
        ("FIPS6", "24510"),
        ("ZONE", "Cedar Park"),  # named twice: its polygons once
    ]
    polygons = resolve_geocodes(city, geocodes)
    assert polygons == [*city.get("Cedar Park").polygons, *city.get("Harbour Point").polygons]
    assert resolve_geocodes(city, [("SAME", "006037")]) == []


def test_resolve_geocodes_refuses_unknown_zone(city: ZoneRegistry) -> None:
    with pytest.raises(AreaError, match="unknown zone 'Nowhere'"):
        resolve_geocodes(city, [("zone", "Old Mill"), ("zone", "Nowhere")])


def test_geojson_order_is_lon_lat() -> None:
    (zone,) = zones_from_geojson(collection(feature("Square")))
    assert zone.polygons[0].points[0] == LatLon(lat=45.5, lon=-73.6)


@pytest.mark.parametrize(
    ("features", "message"),
    [
        (
            [feature("A"), {"type": "Feature", "properties": {}, "geometry": None}],
            r"feature 1: properties\.name",
        ),
        ([feature("A"), feature("B"), feature("")], r"feature 2: properties\.name must be a non-empty"),
        ([feature("A"), feature("B", [SQUARE[:-1]])], r"feature 1 \('B'\): polygon is not closed"),
        ([feature("A", [[[0, 0], [2, 2], [0, 2], [1, 0], [0, 0]]])], r"feature 0 \('A'\): polygon is self-"),
        (
            [feature("A", [[[0, 91], [1, 91], [1, 90], [0, 91]]])],
            r"feature 0 \('A'\): latitude 91",
        ),
        ([feature("A", [SQUARE, SQUARE])], r"feature 0 \('A'\): polygons with holes"),
        ([feature("A", [0, 0], kind="Point")], r"feature 0 \('A'\): geometry must be"),
        ([feature("A", [], kind="MultiPolygon")], r"feature 0 \('A'\): geometry has no polygons"),
        (
            [feature("A", [[{"x": 1}, {"x": 2}, {"x": 3}, {"x": 1}]])],
            r"feature 0 \('A'\): GeoJSON ring positions",
        ),
        ([feature("A"), feature("a")], r"feature 1: zone name 'a' repeats feature 0"),
        ([feature("A"), "not a feature"], r"feature 1: is not a GeoJSON Feature"),
        ([{"type": "Feature", "geometry": None}], r"feature 0: has no properties"),
    ],
)
def test_bad_features_are_reported_by_index(features: list[Any], message: str) -> None:
    with pytest.raises(AreaError, match=message):
        zones_from_geojson(collection(*features))


def test_out_of_range_feature_names_the_coordinate() -> None:
    with pytest.raises(AreaError, match=r"feature 0 \('A'\): latitude 91"):
        zones_from_geojson(collection(feature("A", [[[0, 91], [1, 91], [1, 90], [0, 91]]])))


def test_not_a_feature_collection() -> None:
    with pytest.raises(AreaError, match="FeatureCollection"):
        zones_from_geojson({"type": "Feature"})
    with pytest.raises(AreaError, match="'features' list"):
        zones_from_geojson({"type": "FeatureCollection"})


def test_load_dir_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "a.geojson").write_text(json.dumps(collection(feature("Alpha"))), encoding="utf-8")
    (tmp_path / "b.geojson").write_text(json.dumps(collection(feature("Beta"), feature("Gamma", [[]]))))
    with pytest.raises(AreaError, match=r"b\.geojson: feature 1 \('Gamma'\)"):
        ZoneRegistry.from_dir(tmp_path)


def test_load_dir_refuses_duplicates_across_files(tmp_path: Path) -> None:
    (tmp_path / "a.geojson").write_text(json.dumps(collection(feature("Alpha"))), encoding="utf-8")
    (tmp_path / "b.geojson").write_text(json.dumps(collection(feature("ALPHA"))), encoding="utf-8")
    with pytest.raises(
        AreaError, match=r"b\.geojson: zone 'ALPHA' is defined twice \(already defined in a\.geojson\)"
    ):
        ZoneRegistry.from_dir(tmp_path)


def test_load_dir_reports_broken_json(tmp_path: Path) -> None:
    (tmp_path / "broken.geojson").write_text("{not json", encoding="utf-8")
    with pytest.raises(AreaError, match=r"broken\.geojson: cannot read zones"):
        ZoneRegistry.from_dir(tmp_path)
    with pytest.raises(AreaError, match="does not exist"):
        ZoneRegistry.from_dir(tmp_path / "missing")


def test_registry_add_and_from_geojson() -> None:
    registry = ZoneRegistry.from_geojson(collection(feature("Alpha")))
    registry.add(Zone(name="Beta", polygons=registry.get("alpha").polygons))
    assert registry.names() == ["Alpha", "Beta"]
    with pytest.raises(AreaError, match="defined twice"):
        registry.add(Zone(name="beta", polygons=registry.get("alpha").polygons))
    with pytest.raises(AreaError, match="no polygons"):
        Zone(name="Empty", polygons=[])


# --- Zones and areas across the 180th meridian ------------------------------------------------------------------

DATE_LINE = [[179.0, 10.0], [-179.0, 10.0], [-179.0, 11.0], [179.0, 11.0], [179.0, 10.0]]  # [lon, lat]


def box_ring(lon: float, lat: float, size: float) -> list[list[float]]:
    return [[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]


@pytest.fixture
def pacific() -> ZoneRegistry:
    return ZoneRegistry.from_geojson(
        collection(
            feature("Date line", [DATE_LINE]),
            feature("East of it", [box_ring(-178.9, 10.2, 0.3)]),
            feature("West of it", [box_ring(178.5, 10.2, 0.3)]),
            feature("Greenwich", [box_ring(0.0, 10.2, 0.3)]),
        )
    )


def cap(text: str) -> Any:
    return parse_cap_circle(text) if len(text.split()) == 2 else parse_cap_polygon(text)


@pytest.mark.parametrize(
    ("area", "reached"),
    [
        ("10,179 10,-179 11,-179 11,179 10,179", ["Date line"]),  # the same box as a CAP polygon
        ("10.2,-179.9 10.2,-178.85 10.4,-178.85 10.4,-179.9 10.2,-179.9", ["Date line", "East of it"]),
        ("10.2,179.9 10.2,178.7 10.4,178.7 10.4,179.9 10.2,179.9", ["Date line", "West of it"]),
        ("10.3,178.8 10.3,-178.8 10.4,-178.8 10.4,178.8 10.3,178.8", ["Date line", "East of it", "West of it"]),
        ("10.3,0.1 10.3,0.2 10.4,0.2 10.4,0.1 10.3,0.1", ["Greenwich"]),  # not the date line zone, read flat
        ("10.5,-179.95 20", ["Date line"]),  # circle on the east side, reaching across
        ("10.35,179.99 150", ["Date line", "East of it", "West of it"]),
        ("10.35,179.99 100", ["Date line"]),
        ("10.35,-178.75 1", ["East of it"]),  # centre inside the zone, boundary out of reach
    ],
)
def test_zones_across_the_meridian_are_reached_where_they_are(
    pacific: ZoneRegistry, area: str, reached: list[str]
) -> None:
    assert sorted(zones_reached(pacific, [cap(area)])) == sorted(reached)


def test_zone_across_the_meridian_targets_both_sides(pacific: ZoneRegistry) -> None:
    zone = pacific.get("Date line")
    (polygon,) = zone.polygons
    assert polygon.crosses_antimeridian
    target = TargetArea(zone.polygons)
    assert target.contains([10.5, 10.5, 10.5], [179.5, -179.5, 0.0]).tolist() == [True, True, False]
    point = polygon.to_shapely().representative_point()  # what a zone subscriber's position is taken from
    assert -180 <= point.x <= 180 and (point.x >= 179 or point.x <= -179) and 10 <= point.y <= 11
