"""``alertsvc.geo.areas``: CAP and GeoJSON are read once, in the right order, and bad shapes are refused."""

from __future__ import annotations

import pytest

from alertsvc.geo.areas import (
    AreaError,
    CircleArea,
    LatLon,
    circle_to_cap,
    parse_cap_circle,
    parse_cap_polygon,
    polygon_from_geojson_ring,
    polygon_to_cap,
    polygons_from_geojson_geometry,
)

GOOD_POLYGON = "45.5,-73.6 45.5,-73.5 45.6,-73.5 45.6,-73.6 45.5,-73.6"


def test_cap_polygon_is_lat_lon() -> None:
    polygon = parse_cap_polygon(GOOD_POLYGON)
    assert polygon.points[0] == LatLon(lat=45.5, lon=-73.6)
    assert polygon.bbox() == (45.5, -73.6, 45.6, -73.5)
    assert polygon_to_cap(polygon) == GOOD_POLYGON


def test_cap_polygon_tolerates_extra_whitespace() -> None:
    assert parse_cap_polygon(f"  {GOOD_POLYGON.replace(' ', chr(10) + '  ')} ") == parse_cap_polygon(
        GOOD_POLYGON
    )


def test_cap_circle_is_lat_lon_radius() -> None:
    circle = parse_cap_circle("45.5,-73.57 2.5")
    assert circle == CircleArea(center=LatLon(lat=45.5, lon=-73.57), radius_km=2.5)
    assert circle_to_cap(circle) == "45.5,-73.57 2.5"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("45,-73 45.1,-73 45,-73", "at least 4 points"),
        ("45,-73 45.1,-73 45.1,-72.9 45,-72.9", "not closed"),
        ("0,0 2,2 2,0 0,1 0,0", "self-intersecting"),  # bow-tie
        ("0,0 1,1 2,2 0,0", "no area"),
        ("91,0 91,1 90,1 91,0", "latitude 91.0 is outside"),
        ("0,181 1,181 1,180 0,181", "longitude 181.0 is outside"),
        ("45;-73 45.1,-73 45.1,-72.9 45;-73", "'45;-73' is not a 'lat,lon' pair"),
        ("45,-73,0 45.1,-73 45.1,-72.9 45,-73,0", "is not a 'lat,lon' pair"),
        ("45 -73 45.1 -73", "is not a 'lat,lon' pair"),
        ("nan,0 1,1 1,0 nan,0", "is not a 'lat,lon' pair"),
        ("1e999,0 1,1 1,0 1e999,0", "finite"),
    ],
)
def test_bad_cap_polygons_are_refused_with_a_reason(text: str, reason: str) -> None:
    with pytest.raises(AreaError, match=reason.replace("(", r"\(").replace(".", r"\.")):
        parse_cap_polygon(text)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("45.5,-73.57", "circle must be 'lat,lon radius'"),
        ("45.5,-73.57 -1", "radius must be a finite number"),
        ("45.5,-73.57 abc", "radius 'abc' is not a number"),
        ("45.5,-73.57 inf", "radius must be a finite number"),
        ("45.5 -73.57 1", "circle must be 'lat,lon radius'"),
        ("95,0 1", "latitude 95.0 is outside"),
    ],
)
def test_bad_cap_circles_are_refused_with_a_reason(text: str, reason: str) -> None:
    with pytest.raises(AreaError, match=reason.replace(".", r"\.")):
        parse_cap_circle(text)


def test_symmetric_bow_tie_is_reported_as_self_intersecting() -> None:
    with pytest.raises(AreaError, match="self-intersecting"):
        parse_cap_polygon("0,0 1,1 1,0 0,1 0,0")  # its signed area cancels to 0


def test_symmetric_bow_tie_is_still_refused() -> None:
    with pytest.raises(AreaError):
        parse_cap_polygon("0,0 1,1 1,0 0,1 0,0")


def test_geojson_is_lon_lat() -> None:
    ring = [[-73.6, 45.5], [-73.5, 45.5], [-73.5, 45.6], [-73.6, 45.6], [-73.6, 45.5]]
    polygon = polygon_from_geojson_ring(ring)
    assert polygon.points[0] == LatLon(lat=45.5, lon=-73.6)
    assert polygon == parse_cap_polygon("45.5,-73.6 45.5,-73.5 45.6,-73.5 45.6,-73.6 45.5,-73.6")


SWAPPED_RING = [[45.5, 100.0], [45.6, 100.0], [45.6, 100.1], [45.5, 100.0]]  # [lat, lon] by mistake


def test_geojson_swapped_order_is_refused_when_impossible() -> None:
    with pytest.raises(AreaError):
        polygon_from_geojson_ring(SWAPPED_RING)  # 100 is no latitude


def test_geojson_out_of_range_names_the_coordinate() -> None:
    with pytest.raises(AreaError, match=r"latitude 100\.0 is outside"):
        polygon_from_geojson_ring(SWAPPED_RING)


def test_geojson_geometries() -> None:
    square = [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0], [0.0, 0.0]]
    assert len(polygons_from_geojson_geometry({"type": "Polygon", "coordinates": [square]})) == 1
    multi = {
        "type": "MultiPolygon",
        "coordinates": [[square], [[[5.0, 5.0], [6.0, 5.0], [6.0, 6.0], [5.0, 5.0]]]],
    }
    assert len(polygons_from_geojson_geometry(multi)) == 2
    with pytest.raises(AreaError, match="holes are not supported"):
        polygons_from_geojson_geometry({"type": "Polygon", "coordinates": [square, square]})
    with pytest.raises(AreaError, match="Polygon or MultiPolygon"):
        polygons_from_geojson_geometry({"type": "Point", "coordinates": [0.0, 0.0]})
    with pytest.raises(AreaError, match=r"\[lon, lat\] number pairs"):
        polygon_from_geojson_ring([[0.0], [1.0], [2.0], [0.0]])
    with pytest.raises(AreaError, match=r"\[lon, lat\] number pairs"):
        polygon_from_geojson_ring([["a", "b"], [1.0, 0.0], [1.0, 1.0], ["a", "b"]])  # type: ignore[list-item]


def test_latlon_refuses_out_of_range() -> None:
    with pytest.raises(AreaError, match=r"latitude -90\.5"):
        LatLon(lat=-90.5, lon=0.0)
    with pytest.raises(AreaError, match=r"longitude -180\.5"):
        LatLon(lat=0.0, lon=-180.5)
    assert LatLon(lat=90.0, lon=-180.0).lat == 90.0


def test_polygon_across_the_meridian_is_unwrapped_not_repaired() -> None:
    text = "10,179 10,-179 11,-179 11,179 10,179"
    polygon = parse_cap_polygon(text)
    assert polygon.crosses_antimeridian
    assert polygon_to_cap(polygon) == text  # kept as written
    assert polygon.bbox() == (10.0, 179.0, 11.0, 181.0)
    east, west = sorted(polygon.pieces(), key=lambda piece: piece.bounds[0], reverse=True)
    assert east.bounds == (179.0, 10.0, 181.0, 11.0) and west.bounds == (-181.0, 10.0, -179.0, 11.0)
    assert east.area == west.area == 2.0  # the same polygon, a turn apart: no vertex added or moved
    shape = polygon.to_shapely()  # for the map: cut at +-180
    assert shape.geom_type == "MultiPolygon" and shape.area == 2.0
    assert shape.bounds == (-180.0, 10.0, 180.0, 11.0)


def test_polygon_not_across_the_meridian_is_unchanged() -> None:
    polygon = parse_cap_polygon(GOOD_POLYGON)
    assert not polygon.crosses_antimeridian
    (piece,) = polygon.pieces()
    assert piece.equals_exact(polygon.to_shapely(), 0.0)
    assert list(piece.exterior.coords) == [(p.lon, p.lat) for p in polygon.points]


def test_geojson_ring_across_the_meridian() -> None:
    polygon = polygon_from_geojson_ring([[179.0, 10.0], [-179.0, 10.0], [-179.0, 11.0], [179.0, 10.0]])
    assert polygon.crosses_antimeridian and len(polygon.pieces()) == 2


def test_circle_box_runs_past_the_meridian() -> None:
    min_lat, min_lon, max_lat, max_lon = parse_cap_circle("10,179.9 50").bbox()
    assert min_lon < 179.9 < 180 < max_lon < 180.5 and min_lat < 10 < max_lat
