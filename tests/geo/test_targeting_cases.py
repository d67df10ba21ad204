"""Hand-made boundary cases for ``TargetArea``: the ones a reviewer should be able to check by eye."""

from __future__ import annotations

import numpy as np
import pytest

from alertsvc.geo.areas import CircleArea, LatLon, PolygonArea, parse_cap_circle, parse_cap_polygon
from alertsvc.geo.targeting import CIRCLE_TOLERANCE_KM, TargetArea, bbox_filter_params, bbox_prefilter_mask

from .oracles import destination, haversine_km


def square(lat0: float, lon0: float, size: float) -> PolygonArea:
    corners = [
        (lat0, lon0),
        (lat0, lon0 + size),
        (lat0 + size, lon0 + size),
        (lat0 + size, lon0),
        (lat0, lon0),
    ]
    return PolygonArea(points=tuple(LatLon(lat=a, lon=b) for a, b in corners))


def inside(target: TargetArea, *points: tuple[float, float]) -> list[bool]:
    lats = np.array([p[0] for p in points], dtype=np.float64)
    lons = np.array([p[1] for p in points], dtype=np.float64)
    return [bool(v) for v in target.contains(lats=lats, lons=lons)]


def test_vertices_and_edges_count_as_inside() -> None:
    target = TargetArea([square(45.0, -74.0, 1.0)])
    vertices = [(45.0, -74.0), (45.0, -73.0), (46.0, -73.0), (46.0, -74.0)]
    edges = [(45.0, -73.5), (46.0, -73.25), (45.5, -74.0), (45.75, -73.0)]
    assert inside(target, *vertices, *edges) == [True] * 8


def test_just_outside_an_edge_is_outside() -> None:
    target = TargetArea([square(45.0, -74.0, 1.0)])
    below = float(np.nextafter(45.0, 0.0))
    east = float(np.nextafter(-73.0, 0.0))
    assert inside(target, (below, -73.5), (45.5, east), (46.000001, -73.5)) == [False, False, False]


def test_concave_u_shape_notch_is_outside() -> None:
    # a U opening north: arms at lon 0..1 and 2..3, notch lon 1..2 above lat 1
    u_shape = parse_cap_polygon("0,0 0,3 3,3 3,2 1,2 1,1 3,1 3,0 0,0")
    target = TargetArea([u_shape])
    assert inside(target, (2.0, 1.5)) == [False]  # in the notch
    assert inside(target, (2.0, 0.5), (2.0, 2.5), (0.5, 1.5)) == [True, True, True]  # arms and base
    assert inside(target, (1.0, 1.5), (2.0, 1.0), (2.0, 2.0)) == [True, True, True]  # notch edges
    assert inside(target, (3.0, 1.5)) == [False]  # across the mouth of the notch


def test_lat_lon_order_cannot_be_confused_polygon() -> None:
    # CAP writes lat,lon: this polygon is around lat 10, lon 50 (Gulf of Aden area)
    area = parse_cap_polygon("9,49 9,51 11,51 11,49 9,49")
    assert area.bbox() == (9.0, 49.0, 11.0, 51.0)
    target = TargetArea([area])
    assert inside(target, (10.0, 50.0)) == [True]
    assert inside(target, (50.0, 10.0)) == [False]  # the swapped resident (central Europe)
    assert target.bboxes()[0].min_lat < 10 < target.bboxes()[0].max_lat


def test_lat_lon_order_cannot_be_confused_circle() -> None:
    target = TargetArea([parse_cap_circle("10,50 100")])
    assert inside(target, (10.0, 50.0), (10.5, 50.5), (50.0, 10.0)) == [True, True, False]
    (params,) = bbox_filter_params(target)
    assert params.lat_low < 10 < params.lat_high and params.lon_low < 50 < params.lon_high


def test_keyword_call_is_the_same_as_positional() -> None:
    target = TargetArea([square(10.0, 50.0, 1.0)])
    lats, lons = np.array([10.5, 50.5]), np.array([50.5, 10.5])
    assert (target.contains(lats=lats, lons=lons) == target.contains(lats, lons)).all()
    assert target.contains(lats, lons).tolist() == [True, False]


def test_union_of_two_disjoint_areas() -> None:
    west = square(45.0, -75.0, 0.5)
    east = CircleArea(center=LatLon(lat=45.25, lon=-73.0), radius_km=10.0)
    target = TargetArea([west, east])
    points = [(45.25, -74.75), (45.25, -73.0), (45.25, -74.0), (45.0, -74.5), (45.25, -73.1)]
    assert inside(target, *points) == [True, True, False, True, True]
    assert target.matches([45.25, 45.25, 45.25], [-74.75, -73.0, -74.0]).tolist() == [
        [True, False],
        [False, True],
        [False, False],
    ]
    assert len(target.bboxes()) == 2  # far apart: two boxes, not one spanning the gap


def test_overlapping_polygons_overlap_is_inside() -> None:
    # a MultiPolygon of overlapping parts would put the overlap outside by crossing parity; we must not
    target = TargetArea([square(0.0, 0.0, 2.0), square(1.0, 1.0, 2.0)])
    assert inside(target, (1.5, 1.5), (0.5, 0.5), (2.5, 2.5), (0.5, 2.5)) == [True, True, True, False]


def test_circle_boundary() -> None:
    center = LatLon(lat=45.5, lon=-73.57)
    circle = CircleArea(center=center, radius_km=5.0)
    target = TargetArea([circle])
    on_edge = [destination(center.lat, center.lon, bearing, 5.0) for bearing in (0, 45, 90, 180, 270, 333)]
    assert inside(target, *on_edge) == [True] * 6
    assert all(abs(haversine_km(center.lat, center.lon, *p) - 5.0) < 1e-9 for p in on_edge)
    outside = [destination(center.lat, center.lon, bearing, 5.001) for bearing in (0, 90, 200)]  # 1 m out
    assert inside(target, *outside) == [False] * 3
    within = [destination(center.lat, center.lon, bearing, 4.999) for bearing in (0, 90, 200)]
    assert inside(target, *within) == [True] * 3


def test_circle_tolerance_is_tiny() -> None:
    assert CIRCLE_TOLERANCE_KM <= 1e-5  # 1 cm at most: rounding, not geography
    target = TargetArea([CircleArea(center=LatLon(lat=0.0, lon=0.0), radius_km=1.0)])
    beyond = destination(0.0, 0.0, 45, 1.0 + 10 * CIRCLE_TOLERANCE_KM)
    assert inside(target, beyond) == [False]


def test_zero_radius_circle_holds_only_its_centre() -> None:
    target = TargetArea([parse_cap_circle("45.5,-73.57 0")])
    assert inside(target, (45.5, -73.57), (45.50001, -73.57)) == [True, False]


def test_circle_around_the_pole_spans_all_longitudes() -> None:
    target = TargetArea([CircleArea(center=LatLon(lat=89.5, lon=0.0), radius_km=200.0)])
    assert inside(target, (89.0, 180.0), (89.0, -179.9), (89.9, 90.0), (87.0, 0.0)) == [
        True,
        True,
        True,
        False,
    ]
    (box,) = target.bboxes()
    assert (box.min_lon, box.max_lat, box.max_lon) == (-180.0, 90.0, 180.0)


def test_empty_target_selects_nobody() -> None:
    target = TargetArea([])
    assert inside(target, (0.0, 0.0)) == [False]
    assert target.bboxes() == [] and bbox_filter_params(target) == []


def test_nan_coordinates_are_never_inside() -> None:
    target = TargetArea([square(0.0, 0.0, 1.0), CircleArea(center=LatLon(lat=0.5, lon=0.5), radius_km=500.0)])
    assert inside(target, (float("nan"), 0.5), (0.5, float("nan"))) == [False, False]


def test_empty_chunk() -> None:
    result = TargetArea([square(0.0, 0.0, 1.0)]).contains(np.array([]), np.array([]))
    assert result.shape == (0,) and result.dtype == np.bool_


def test_bad_arrays_are_refused() -> None:
    target = TargetArea([square(0.0, 0.0, 1.0)])
    with pytest.raises(ValueError, match="differ in length"):
        target.contains(np.zeros(3), np.zeros(2))
    with pytest.raises(ValueError, match="one-dimensional"):
        target.contains(np.zeros((2, 2)), np.zeros((2, 2)))
    with pytest.raises(TypeError, match="PolygonArea or CircleArea"):
        TargetArea([(0.0, 0.0)])  # type: ignore[list-item]


def test_prefilter_keeps_boundary_residents() -> None:
    target = TargetArea(
        [square(45.0, -74.0, 1.0), CircleArea(center=LatLon(lat=0.0, lon=0.0), radius_km=3.0)]
    )
    on_edge = [(45.0, -74.0), (46.0, -73.0), *[destination(0.0, 0.0, b, 3.0) for b in range(0, 360, 10)]]
    lats = np.array([p[0] for p in on_edge])
    lons = np.array([p[1] for p in on_edge])
    assert target.contains(lats, lons).all()
    assert bbox_prefilter_mask(bbox_filter_params(target), lats, lons).all()
    assert bbox_prefilter_mask(target.bboxes(max_boxes=1), lats, lons).all()


# --- Across the 180th meridian: the examples, checked by eye ---------------------------------------------

DATE_LINE_BOX = "10,179 10,-179 11,-179 11,179 10,179"  # 2 degrees wide, straddling the meridian


def test_polygon_across_the_meridian_reaches_both_sides_and_not_the_wrong_side() -> None:
    polygon = parse_cap_polygon(DATE_LINE_BOX)
    assert polygon.crosses_antimeridian
    target = TargetArea([polygon])
    assert inside(target, (10.5, 179.5), (10.5, -179.5), (10.5, 0.0)) == [True, True, False]
    assert inside(target, (10.5, 180.0), (10.5, -180.0), (10.0, -179.0), (11.0, 179.5)) == [True] * 4  # boundary
    assert inside(target, (10.5, 178.99), (10.5, -178.99), (9.99, 180.0), (10.5, 90.0)) == [False] * 4
    boxes = sorted(target.bboxes())
    assert len(boxes) == 2
    assert boxes[0].min_lon == -180.0 and boxes[0].max_lon == pytest.approx(-179.0)
    assert boxes[1].min_lon == pytest.approx(179.0) and boxes[1].max_lon == 180.0
    lats, lons = np.array([10.5, 10.5, 10.5]), np.array([179.5, -179.5, 0.0])
    assert bbox_prefilter_mask(bbox_filter_params(target), lats, lons).tolist() == [True, True, False]


def test_the_same_polygon_written_from_the_other_side() -> None:
    east_first = parse_cap_polygon("10,-179 10,179 11,179 11,-179 10,-179")
    assert east_first.bbox() == (10.0, -181.0, 11.0, -179.0)  # unwrapped from where it was written
    assert inside(TargetArea([east_first]), (10.5, 179.5), (10.5, -179.5), (10.5, 0.0)) == [True, True, False]


def test_circle_near_the_meridian_reaches_across() -> None:
    target = TargetArea([parse_cap_circle("10,179.9 50")])
    assert haversine_km(10, 179.9, 10, -179.8) < 50
    assert inside(target, (10.0, -179.8), (10.0, 179.5), (10.0, 0.0), (10.0, -179.0)) == [True, True, False, False]
    assert len(target.bboxes()) == 2
    lats, lons = np.array([10.0, 10.0]), np.array([-179.8, 179.5])
    assert bbox_prefilter_mask(bbox_filter_params(target), lats, lons).all()


def test_circle_centred_on_the_meridian_written_either_way() -> None:
    for written in ("0,180 20", "0,-180 20"):
        target = TargetArea([parse_cap_circle(written)])
        assert inside(target, (0.0, 179.9), (0.0, -179.9), (0.0, 179.0)) == [True, True, False], written


def test_touching_the_meridian_reaches_its_other_name() -> None:
    """-180 and 180 are one meridian: a polygon up to 180 holds a resident stored at -180 on its edge."""
    target = TargetArea([square(10.0, 179.0, 1.0)])  # lon 179..180, not crossing
    assert not target.areas[0].crosses_antimeridian  # type: ignore[union-attr]
    assert inside(target, (10.5, 180.0), (10.5, -180.0), (10.5, -179.999)) == [True, True, False]


def test_a_step_of_exactly_half_a_turn_is_not_a_crossing() -> None:
    band = parse_cap_polygon("0,-90 0,90 1,90 1,-90 0,-90")
    assert not band.crosses_antimeridian
    assert inside(TargetArea([band]), (0.5, 0.0), (0.5, 180.0)) == [True, False]


def test_wide_crossing_polygon_far_from_the_meridian() -> None:
    """A Pacific-wide area, 120E to 70W: vertices 110 degrees from the meridian, shifted by a turn."""
    pacific = parse_cap_polygon("-40,120 -40,-70 50,-70 50,120 -40,120")
    target = TargetArea([pacific])
    assert inside(target, (0.0, 150.0), (0.0, -150.0), (0.0, 180.0), (0.0, 0.0), (0.0, 100.0), (0.0, -60.0)) == [
        True, True, True, False, False, False
    ]  # fmt: skip
    assert inside(target, (50.0, 120.0), (50.0, -70.0), (-40.0, 180.0)) == [True, True, True]  # corners, edge
