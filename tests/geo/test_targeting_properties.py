"""Property tests: ``TargetArea.contains`` agrees with independent oracles on random shapes and points."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alertsvc.geo.areas import AreaError, CircleArea, LatLon, PolygonArea
from alertsvc.geo.targeting import TargetArea, bbox_filter_params, bbox_prefilter_mask

from .oracles import (
    crosses_antimeridian,
    destination,
    haversine_km,
    point_in_polygon_on_globe,
    point_in_ring,
    unwrapped_ring,
)
from .strategies import (
    circles,
    crossing_circles,
    crossing_edge_points,
    crossing_polygons,
    crossing_probe_points,
    exact_edge_points,
    polygons_round_a_pole,
    probe_points,
    ring_of,
    star_polygons,
)

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
BAND_KM = 1e-5  # circle answers are only compared with the oracle this far (1 cm) from the edge


def _arrays(points: list[tuple[float, float]]) -> tuple[np.ndarray, np.ndarray]:
    lats = np.array([p[0] for p in points], dtype=np.float64)
    lons = np.array([p[1] for p in points], dtype=np.float64)
    return lats, lons


@SETTINGS
@given(data=st.data(), polygon=star_polygons())
def test_polygon_agrees_with_ray_casting(data: st.DataObject, polygon: PolygonArea) -> None:
    points = data.draw(probe_points(polygon))
    ring = ring_of(polygon)
    expected = [point_in_ring(p, ring) for p in points]
    got = TargetArea([polygon]).contains(*_arrays(points))
    mismatches = [(p, e) for p, e, g in zip(points, expected, got, strict=True) if e != bool(g)]
    assert not mismatches


@SETTINGS
@given(polygon=star_polygons())
def test_every_vertex_and_edge_point_is_inside(polygon: PolygonArea) -> None:
    points = exact_edge_points(polygon)
    ring = ring_of(polygon)
    assert all(point_in_ring(p, ring) for p in points)  # the oracle confirms they are on the boundary
    assert TargetArea([polygon]).contains(*_arrays(points)).all()


@SETTINGS
@given(polygon=star_polygons(convex=True), data=st.data())
def test_convex_polygons(polygon: PolygonArea, data: st.DataObject) -> None:
    points = data.draw(probe_points(polygon))
    ring = ring_of(polygon)
    got = TargetArea([polygon]).contains(*_arrays(points))
    assert [bool(g) for g in got] == [point_in_ring(p, ring) for p in points]


@SETTINGS
@given(circle=circles(), seed=st.integers(0, 2**32 - 1))
def test_circle_agrees_with_haversine(circle: CircleArea, seed: int) -> None:
    rng = np.random.default_rng(seed)
    c, r = circle.center, circle.radius_km
    bearings = rng.uniform(0, 360, 60)
    factors = np.concatenate([rng.uniform(0, 2, 40), 1 + rng.uniform(-1e-6, 1e-6, 20)])
    points = [destination(c.lat, c.lon, b, f * r) for b, f in zip(bearings, factors, strict=True)]
    got = TargetArea([circle]).contains(*_arrays(points))
    for (lat, lon), inside in zip(points, got, strict=True):
        distance = haversine_km(c.lat, c.lon, lat, lon)
        if abs(distance - r) > BAND_KM:
            assert bool(inside) == (distance <= r), (lat, lon, distance, r)


@SETTINGS
@given(circle=circles())
def test_points_on_the_circle_are_inside(circle: CircleArea) -> None:
    c = circle.center
    points = [destination(c.lat, c.lon, bearing, circle.radius_km) for bearing in range(0, 360, 15)]
    assert TargetArea([circle]).contains(*_arrays(points)).all()


@SETTINGS
@given(
    polygons=st.lists(star_polygons(), min_size=0, max_size=3),
    circle_list=st.lists(circles(), min_size=0, max_size=3),
    max_boxes=st.sampled_from([1, 2, 16]),
    data=st.data(),
)
def test_prefilter_never_drops_anyone_inside(
    polygons: list[PolygonArea], circle_list: list[CircleArea], max_boxes: int, data: st.DataObject
) -> None:
    target = TargetArea([*polygons, *circle_list])
    points: list[tuple[float, float]] = []
    for polygon in polygons:
        points += data.draw(probe_points(polygon)) + exact_edge_points(polygon)
    for circle in circle_list:
        c = circle.center
        points += [
            destination(c.lat, c.lon, b, circle.radius_km * f) for b in range(0, 360, 30) for f in (0.5, 1)
        ]
    if not points:
        assert bbox_filter_params(target) == []
        return
    lats, lons = _arrays(points)
    inside = target.contains(lats, lons)
    params = bbox_filter_params(target, max_boxes=max_boxes)
    assert len(params) <= max_boxes
    kept = bbox_prefilter_mask(params, lats, lons)
    assert not (inside & ~kept).any()


@SETTINGS
@given(polygons=st.lists(star_polygons(), min_size=1, max_size=4), data=st.data())
def test_union_is_any_area_and_matches_agree(polygons: list[PolygonArea], data: st.DataObject) -> None:
    points = [p for polygon in polygons for p in data.draw(probe_points(polygon))]
    lats, lons = _arrays(points)
    target = TargetArea(polygons)
    matrix = target.matches(lats, lons)
    expected = np.array([[point_in_ring(p, ring_of(poly)) for poly in polygons] for p in points])
    assert (matrix == expected).all()
    assert (target.contains(lats, lons) == expected.any(axis=1)).all()


# --- Across the 180th meridian ----------------------------------------------------------------------------------


@SETTINGS
@given(data=st.data(), polygon=crossing_polygons())
def test_crossing_polygon_agrees_with_the_globe_oracle(data: st.DataObject, polygon: PolygonArea) -> None:
    ring = ring_of(polygon)
    assert crosses_antimeridian(ring)
    points = data.draw(crossing_probe_points(polygon))
    expected = [point_in_polygon_on_globe(p, ring) for p in points]
    got = TargetArea([polygon]).contains(*_arrays(points))
    mismatches = [(p, e) for p, e, g in zip(points, expected, got, strict=True) if e != bool(g)]
    assert not mismatches
    assert any(expected), "the strategy must put some points inside"


@SETTINGS
@given(polygon=crossing_polygons())
def test_every_vertex_and_edge_point_of_a_crossing_polygon_is_inside(polygon: PolygonArea) -> None:
    points = crossing_edge_points(polygon)
    ring = ring_of(polygon)
    assert all(point_in_polygon_on_globe(p, ring) for p in points)
    assert TargetArea([polygon]).contains(*_arrays(points)).all()


@SETTINGS
@given(circle=crossing_circles(), seed=st.integers(0, 2**32 - 1))
def test_crossing_circle_agrees_with_haversine(circle: CircleArea, seed: int) -> None:
    rng = np.random.default_rng(seed)
    c, r = circle.center, circle.radius_km
    bearings = rng.uniform(0, 360, 80)
    factors = np.concatenate([rng.uniform(0, 2, 60), 1 + rng.uniform(-1e-6, 1e-6, 20)])
    points = [destination(c.lat, c.lon, b, f * r) for b, f in zip(bearings, factors, strict=True)]
    points += [destination(c.lat, c.lon, bearing, r) for bearing in range(0, 360, 15)]  # on the circle
    points += [(float(lat), lon) for lat in rng.uniform(c.lat - 1, c.lat + 1, 5) for lon in (180.0, -180.0)]
    points = [(lat, lon) for lat, lon in points if -90 <= lat <= 90]
    target = TargetArea([circle])
    got = target.contains(*_arrays(points))
    for (lat, lon), inside in zip(points, got, strict=True):
        distance = haversine_km(c.lat, c.lon, lat, lon)
        if abs(distance - r) > BAND_KM:
            assert bool(inside) == (distance <= r), (lat, lon, distance, r)
    kept = bbox_prefilter_mask(bbox_filter_params(target), *_arrays(points))
    assert not (got & ~kept).any()
    assert {lon > 0 for (_, lon), inside in zip(points, got, strict=True) if inside} == {True, False}


@SETTINGS
@given(
    crossing=st.lists(crossing_polygons(), min_size=1, max_size=2),
    plain=st.lists(star_polygons(), max_size=2),
    circle_list=st.lists(crossing_circles(), max_size=2),
    max_boxes=st.sampled_from([1, 2, 16]),
    data=st.data(),
)
def test_prefilter_never_drops_anyone_inside_across_the_meridian(
    crossing: list[PolygonArea],
    plain: list[PolygonArea],
    circle_list: list[CircleArea],
    max_boxes: int,
    data: st.DataObject,
) -> None:
    polygons = [*crossing, *plain]
    target = TargetArea([*polygons, *circle_list])
    points: list[tuple[float, float]] = []
    for polygon in crossing:
        points += data.draw(crossing_probe_points(polygon)) + crossing_edge_points(polygon)
    for polygon in plain:
        points += data.draw(probe_points(polygon))
    for circle in circle_list:
        c = circle.center
        points += [destination(c.lat, c.lon, b, circle.radius_km * f) for b in range(0, 360, 30) for f in (0.5, 1)]
    lats, lons = _arrays(points)
    matrix = target.matches(lats, lons)
    expected = np.array([[point_in_polygon_on_globe(p, ring_of(poly)) for poly in polygons] for p in points])
    assert (matrix[:, : len(polygons)] == expected).all()
    inside = target.contains(lats, lons)
    assert (inside == matrix.any(axis=1)).all()
    params = bbox_filter_params(target, max_boxes=max_boxes)
    assert len(params) <= max_boxes
    assert all(-180 <= p.lon_low <= p.lon_high <= 180 and -90 <= p.lat_low <= p.lat_high <= 90 for p in params)
    assert not (inside & ~bbox_prefilter_mask(params, lats, lons)).any()


@SETTINGS
@given(ring=polygons_round_a_pole())
def test_a_polygon_round_a_pole_is_refused_never_targeted(ring: list[tuple[float, float]]) -> None:
    """Split at the meridian it would need a cap over the pole that nobody drew: refused with the reason."""
    assert unwrapped_ring(ring) is None
    try:
        PolygonArea(points=tuple(LatLon(lat=lat, lon=lon) for lat, lon in ring))
    except AreaError as exc:
        assert "pole" in str(exc) or "self-intersecting" in str(exc) or "no area" in str(exc)
    else:
        raise AssertionError(f"accepted a polygon round a pole: {ring}")
