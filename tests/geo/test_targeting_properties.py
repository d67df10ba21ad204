"""Property tests: ``TargetArea.contains`` agrees with independent oracles on random shapes and points."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alertsvc.geo.areas import CircleArea, PolygonArea
from alertsvc.geo.targeting import TargetArea, bbox_filter_params, bbox_prefilter_mask

from .oracles import destination, haversine_km, point_in_ring
from .strategies import circles, exact_edge_points, probe_points, ring_of, star_polygons

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
