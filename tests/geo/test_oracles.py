"""The oracles are only worth trusting if they get the obvious cases right."""

from __future__ import annotations

import math

import pytest

from .oracles import (
    crosses_antimeridian,
    destination,
    haversine_km,
    orientation,
    point_in_polygon_on_globe,
    point_in_ring,
    unwrapped_ring,
)

SQUARE = [(0.0, 0.0), (0.0, 1.0), (1.0, 1.0), (1.0, 0.0), (0.0, 0.0)]  # (lat, lon)
U_SHAPE = [(0, 0), (0, 3), (3, 3), (3, 2), (1, 2), (1, 1), (3, 1), (3, 0), (0, 0)]


@pytest.mark.parametrize(
    ("point", "expected"),
    [
        ((0.5, 0.5), True),
        ((0.0, 0.0), True),  # vertex
        ((0.0, 0.5), True),  # edge
        ((1.0, 0.25), True),  # top edge
        ((0.5, 1.0), True),  # right edge
        ((1.5, 0.5), False),
        ((0.5, -0.001), False),
        ((0.0, 2.0), False),  # on the line of an edge, beyond it
    ],
)
def test_square(point: tuple[float, float], expected: bool) -> None:
    assert point_in_ring(point, SQUARE) is expected


def test_u_shape_notch_is_outside() -> None:
    ring = [(float(a), float(b)) for a, b in U_SHAPE]
    assert point_in_ring((2.0, 1.5), ring) is False  # in the notch
    assert point_in_ring((2.0, 0.5), ring) is True  # in an arm
    assert point_in_ring((1.0, 1.5), ring) is True  # bottom of the notch (edge)
    assert point_in_ring((3.0, 1.5), ring) is False  # across the notch's mouth


def test_ray_through_vertex_counts_once() -> None:
    diamond = [(0.0, 1.0), (1.0, 2.0), (2.0, 1.0), (1.0, 0.0), (0.0, 1.0)]
    assert point_in_ring((1.0, 0.5), diamond) is True
    assert point_in_ring((1.0, -0.5), diamond) is False
    assert point_in_ring((1.0, 2.5), diamond) is False


def test_orientation_is_exact_near_zero() -> None:
    a, b = (0.1, 0.1), (0.3, 0.3)
    on = (0.2, 0.2)
    assert orientation(a, b, on) in (-1, 0, 1)
    assert orientation((0.0, 0.0), (1.0, 1.0), (0.5, 0.5)) == 0
    assert orientation((0.0, 0.0), (0.0, 1.0), (1.0, 0.5)) == 1


def test_haversine_known_distances() -> None:
    quarter = math.pi / 2 * 6371.0088
    assert haversine_km(0, 0, 0, 90) == pytest.approx(quarter)
    assert haversine_km(0, 0, 90, 0) == pytest.approx(quarter)
    assert haversine_km(45.5, -73.6, 45.5, -73.6) == 0.0
    assert haversine_km(10, 20, *destination(10, 20, 37, 123.4)) == pytest.approx(123.4, abs=1e-9)


CROSSING = [(10.0, 179.0), (10.0, -179.0), (11.0, -179.0), (11.0, 179.0), (10.0, 179.0)]  # 2 degrees wide


def test_crossing_ring_is_the_narrow_box_across_the_meridian() -> None:
    assert crosses_antimeridian(CROSSING) and not crosses_antimeridian(SQUARE)
    assert [float(lon) for _, lon in unwrapped_ring(CROSSING) or []] == [179, 181, 181, 179, 179]
    inside = [(10.5, 179.5), (10.5, -179.5), (10.5, 180.0), (10.5, -180.0), (10.0, -179.0), (11.0, 179.5)]
    outside = [(10.5, 0.0), (10.5, 178.9), (10.5, -178.9), (9.99, 180.0), (10.5, 90.0)]
    assert [point_in_polygon_on_globe(p, CROSSING) for p in inside] == [True] * len(inside)
    assert [point_in_polygon_on_globe(p, CROSSING) for p in outside] == [False] * len(outside)
    assert point_in_ring((10.5, 0.0), CROSSING) is True  # the flat reading is the wrong side of the globe


def test_a_step_of_exactly_half_a_turn_is_the_flat_reading() -> None:
    band = [(0.0, -90.0), (0.0, 90.0), (1.0, 90.0), (1.0, -90.0), (0.0, -90.0)]
    assert not crosses_antimeridian(band)
    assert point_in_polygon_on_globe((0.5, 0.0), band) and not point_in_polygon_on_globe((0.5, 180.0), band)


def test_rings_round_a_pole_or_over_a_turn_do_not_unwrap() -> None:
    round_the_pole = [(80.0, 0.0), (80.0, 120.0), (80.0, -120.0), (80.0, 0.0)]
    assert crosses_antimeridian(round_the_pole) and unwrapped_ring(round_the_pole) is None
    assert unwrapped_ring(SQUARE) is not None


def test_touching_the_meridian_from_one_side_reaches_the_other_spelling() -> None:
    east = [(0.0, 170.0), (0.0, 180.0), (1.0, 180.0), (1.0, 170.0), (0.0, 170.0)]
    assert point_in_polygon_on_globe((0.5, -180.0), east)  # -180 and 180 are one meridian
    assert not point_in_polygon_on_globe((0.5, -179.999), east)


def test_haversine_across_the_meridian() -> None:
    assert haversine_km(10, 179.9, 10, -179.8) == pytest.approx(haversine_km(10, 0.1, 10, 0.4))
    assert haversine_km(10, 179.9, 10, -179.8) < 50
    assert destination(10, 179.9, 90, 40)[1] < -179  # the oracle's own destination wraps the longitude
